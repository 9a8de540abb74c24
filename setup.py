"""Build step for the compiled parts of mixai: the meters' filter loops (mixai/dsp/_sos.c, see
mixai/dsp/sosloop.py), the true-peak interpolation filter (mixai/dsp/_polyphase.c, see
mixai/dsp/polyphase.py) and the FLAC frame walk (mixai/io/_flacwalk.c, see mixai/io/flacscan.py),
plain C loaded with ctypes. Everything else is in pyproject.toml. Optional: without a C compiler
the package installs and those loops fall back to numba (compiled on first use) or numpy."""

from setuptools import Extension, setup

# -O3 for the FIR: its inner loop is what the compiler vectorises.
setup(ext_modules=[Extension(name, [source], extra_compile_args=[flags], optional=True)
                   for name, source, flags in (("mixai.dsp._sos", "mixai/dsp/_sos.c", "-O2"),
                                               ("mixai.dsp._polyphase", "mixai/dsp/_polyphase.c", "-O3"),
                                               ("mixai.io._flacwalk", "mixai/io/_flacwalk.c", "-O2"))])
