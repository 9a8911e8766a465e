# main.py - hands the board to the WildCAM app (wildcam/app.py), the one composition root.
# Ctrl-C at the serial console stops it and leaves you at the REPL: `import wildcam`.
import wildcam.app

wildcam.app.main()
