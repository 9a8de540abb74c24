"""Build step for the compiled parts of mixai: the meters' filter loops (mixai/dsp/_sos.c, see
mixai/dsp/sosloop.py) and the FLAC frame walk (mixai/io/_flacwalk.c, see mixai/io/flacscan.py),
plain C loaded with ctypes. Everything else is in pyproject.toml. Optional: without a C compiler
the package installs and those loops fall back to numba (compiled on first use)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension(name, [source], extra_compile_args=["-O2"], optional=True)
                   for name, source in (("mixai.dsp._sos", "mixai/dsp/_sos.c"),
                                        ("mixai.io._flacwalk", "mixai/io/_flacwalk.c"))])
