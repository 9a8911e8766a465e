"""Host tools write whole lines off a terminal: no hard wraps, whatever COLUMNS says."""
import io

from tools.ui import make_console


def test_long_message_is_one_line_off_a_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    out = io.StringIO()
    msg = "error: /" + "/".join(["deep-folder-name"] * 12) + "/fw.uf2 is not an ESP32 firmware image"
    make_console(out).print(f"[red]{msg}[/]")
    assert out.getvalue() == msg + "\n"


def test_tables_off_a_terminal_ignore_columns(monkeypatch):
    from rich.table import Table

    widths = []
    for cols in ("40", "300"):
        monkeypatch.setenv("COLUMNS", cols)
        out = io.StringIO()
        t = Table("camera", "images", "delivered", "queued", "lost", "latency p95")
        t.add_row("cam-01-with-a-long-name", "1234", "1230", "4", "0", "812 ms")
        make_console(out).print(t)
        widths.append(out.getvalue())
    assert widths[0] == widths[1] and "cam-01-with-a-long-name" in widths[0]
