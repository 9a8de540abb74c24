"""Build step for the one compiled part of mixai: the meters' filter loops (mixai/dsp/_sos.c,
plain C loaded with ctypes; see mixai/dsp/sosloop.py). Everything else is in pyproject.toml.
Optional: without a C compiler the package installs and the loops fall back to numba."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("mixai.dsp._sos", ["mixai/dsp/_sos.c"], extra_compile_args=["-O2"], optional=True)])
