"""Files in and out: audio reading and writing with validity checks (:mod:`mixai.io.audio`),
atomic writes with one temporary-name pattern (:mod:`mixai.io.atomic`), and random-access storage
for long renders (:mod:`mixai.io.framestore`)."""
