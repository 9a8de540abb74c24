"""Standard MIDI file bytes for one stem's tracks (what fluidsynth renders).

Written by hand (a few dozen lines) so that the bytes, and hence the renders, depend only on the
notes: no library version, no timestamps.
"""

from __future__ import annotations

import struct

from mixai.training.corpus.arrangement import Track

TICKS_PER_QUARTER = 960


def variable_length_quantity(value: int) -> bytes:
    """MIDI variable-length quantity."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def midi_bytes(tracks: list[Track], qpm: float, end_ql: float) -> bytes:
    """A format-0 standard MIDI file: one channel per track (10 for drums), tempo, program,
    reverb and chorus sends at 0. Same-pitch overlaps on a channel are trimmed so that a note-off
    never cuts a re-struck note short."""
    events: list[tuple[int, int, bytes]] = []
    tempo_us = int(round(60_000_000 / qpm))
    events.append((0, 0, b"\xff\x51\x03" + tempo_us.to_bytes(3, "big")))
    melodic_channels = [c for c in range(16) if c != 9]
    next_channel = 0
    for track in tracks:
        if track.is_drum:
            channel = 9
        else:
            channel = melodic_channels[next_channel % len(melodic_channels)]
            next_channel += 1
        bank = [] if track.is_drum else [bytes([0xB0 | channel, 0, 0])]  # channel 10 keeps the drum bank
        setup = bank + [
            bytes([0xC0 | channel, track.program]),
            bytes([0xB0 | channel, 7, 100]), bytes([0xB0 | channel, 11, 127]), bytes([0xB0 | channel, 10, 64]),
            bytes([0xB0 | channel, 91, 0]), bytes([0xB0 | channel, 93, 0]),
        ]
        events.extend((0, 1, msg) for msg in setup)
        by_pitch: dict[int, list[tuple[int, int, int]]] = {}
        for n in track.notes:
            on = int(round(n.start_ql * TICKS_PER_QUARTER))
            off = int(round(min(n.start_ql + n.length_ql, end_ql) * TICKS_PER_QUARTER))
            if off > on:
                by_pitch.setdefault(n.pitch, []).append((on, off, n.velocity))
        for pitch, spans in by_pitch.items():
            spans.sort()
            for i, (on, off, velocity) in enumerate(spans):
                if i + 1 < len(spans):
                    off = min(off, spans[i + 1][0])
                if off <= on:
                    continue
                events.append((on, 3, bytes([0x90 | channel, pitch, max(1, min(127, velocity))])))
                events.append((off, 2, bytes([0x80 | channel, pitch, 0])))
    end_tick = int(round(end_ql * TICKS_PER_QUARTER))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    body = bytearray()
    last = 0
    for tick, _, msg in events:
        body += variable_length_quantity(tick - last) + msg
        last = tick
    body += variable_length_quantity(max(0, end_tick - last)) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
    return header + b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


__all__ = ["TICKS_PER_QUARTER", "variable_length_quantity", "midi_bytes"]
