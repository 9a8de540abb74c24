"""Signal processing: BS.1770 loudness (:mod:`mixai.dsp.loudness`), 4x true peak
(:mod:`mixai.dsp.truepeak`), the true-peak limiter (:mod:`mixai.dsp.limiter`), the pedalboard chain
built from settings (:mod:`mixai.dsp.chain`) and the streaming pieces they share
(:mod:`mixai.dsp.streaming`). Nothing is imported here: each module loads what it needs."""
