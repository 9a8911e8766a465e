"""Cell-mean kernel for the board (@micropython.viper: machine code, no allocation).

Imported by wildcam.capture.blocks (for the detector) only on MicroPython builds with the
viper emitter (an ESP32 build, the unix port); elsewhere importing this module is a
SyntaxError, which blocks catches. Same result as blocks.SwarKernel: one rounded mean (0..255) per cell, in the
band layout (blocks.cell_index).

Viper code is machine code, so this one module compiles only for a named architecture:
`mpy-cross -march=xtensawin` (what tests/test_mpy_cross.py and `tools/flash.py deploy`
use for an ESP32; deploy reads the board's arch). A plain `mpy-cross` without `-march`
answers "invalid arch" here, by design; for a board without a native emitter deploy
leaves this file out and detect falls back to the pure-Python kernel.
"""
import micropython


@micropython.viper
def cell_means(frame, out, acc, w: int, h: int, shift: int):
    # frame: w*h bytes; out: the band layout (blocks.cell_index); acc: bytearray(4 * (w >> shift))
    src = ptr8(frame)
    dst = ptr8(out)
    a = ptr32(acc)
    b = 1 << shift
    fw = w >> shift
    fh = h >> shift
    sh2 = shift + shift
    half = 1 << (sh2 - 1)
    row = 0
    cy = 0
    while cy < fh:
        j = 0
        while j < fw:
            a[j] = 0
            j += 1
        r = 0
        while r < b:
            x = 0
            while x < w:
                q = x >> shift
                a[q] = a[q] + src[row + x]
                x += 1
            row += w
            r += 1
        # band layout: (cy // b) * (b * fw) + b * cx + cy % b
        o = (cy >> shift) * (b * fw) + (cy & (b - 1))
        j = 0
        while j < fw:
            dst[o + b * j] = (a[j] + half) >> sh2
            j += 1
        cy += 1
