"""Mastering, one stage a module: the user's choices (:mod:`~mixai.master.options`), reading and
measuring the input (:mod:`~mixai.master.source`), the rendered chain (:mod:`~mixai.master.render`),
the make-up gain that lands the limited output on target (:mod:`~mixai.master.gain`), the final
pass that limits, measures and writes (:mod:`~mixai.master.final`), the report
(:mod:`~mixai.master.report`) and the path through them all (:mod:`~mixai.master.pipeline`:
``master_file``, ``master_array``, ``suggestion``). Nothing is imported here."""
