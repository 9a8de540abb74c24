"""The visual report: the curves measured while a master runs (:mod:`~mixai.report.timeline`),
the plots drawn from them with matplotlib (:mod:`~mixai.report.plots`, imported only when a
report is asked for) and the self-contained HTML pages for a master, a mix and a batch
(:mod:`~mixai.report.html`). Nothing is imported here."""
