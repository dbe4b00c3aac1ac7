"""In-band DTMF detection: Goertzel bins over short overlapping windows, explicit acceptance
tests per window, and a small streaming state machine that turns windows into key presses.

No I/O: decoded int16 samples plus the time of their first sample in, :class:`InbandDigit`
values out. One :class:`InbandDtmfDetector` per call (per audio direction).

Receiver requirements (ITU-T Q.24 and the usual receiver specifications derived from it):

====================================  ==========================================
tones of 40 ms or more                detected (:data:`MIN_TONE_MS` = 32 ms)
tones of 25 ms or less                rejected
gaps of 40 ms or more                 separate two key presses
interruptions of 20 ms or less        bridged (:data:`MAX_BRIDGED_GAP_MS` = 30 ms)
frequency within +-1.5 %              detected (:data:`FREQUENCY_TOLERANCE` = 2.5 %)
frequency beyond +-3.5 %              rejected
twist up to 8 dB normal / 4 dB rev.   detected (limits 8.5 dB / 4.5 dB)
signal-to-noise ratio 15 dB           detected
speech                                no digits (talk-off)
====================================  ==========================================

Analysis window (:data:`WINDOW_MS` = 20 ms, 160 samples at 8 kHz, Hann-weighted, every
:data:`HOP_MS` = 5 ms). The classic choices are 102-106 samples (13 ms) or 205 samples; the
window here is chosen from the tone spacing and the timing requirements:

* the Hann main lobe (+-2 bins = +-100 Hz) keeps a row tone's leakage into the neighbouring
  row bin (73-89 Hz away) 10-25 dB down, and its side lobes fall fast enough that a column tone
  4 dB stronger than the row tone (reverse twist) does not disturb the row bin's phase. A
  rectangular 106-sample window leaks about -21 dB across the 268 Hz between 941 Hz and
  1209 Hz, enough to bend the measured row frequency by several Hz per window, against a
  margin of 9 Hz between the 1.5 % and 2.5 % marks of 941 Hz;
* a 40 ms tone still holds five windows entirely, a 25 ms tone at most two;
* hopping by 5 ms measures the tone and gap durations to within a few ms.

No window length can separate +-1.5 % from +-3.5 % by energy alone for every tone (3.5 % of
697 Hz is 24 Hz, a quarter of a 20 ms bin), so each window *measures* the frequency of the two
tones from the phase advance of their bins between consecutive windows
(:func:`frequency_deviation`): a sinusoid at ``f`` advances by ``2*pi*f*hop/rate`` in one hop,
unambiguously for deviations within +-100 Hz. The tone powers are then corrected for the
window's attenuation at the measured offset, so twist and energy ratio do not depend on the
detuning.

Per-window tests (all must pass; constants below):

1. the strongest row and the strongest column each exceed the other tones of their group by
   :data:`RELATIVE_PEAK_DB`;
2. both measured frequencies are within :data:`FREQUENCY_TOLERANCE` of nominal;
3. the two tones carry at least :data:`MIN_ENERGY_RATIO` of the window's total power (white
   noise at 15 dB SNR leaves 0.97; speech spreads its power over many harmonics and formants);
4. second harmonics at least :data:`HARMONIC_REJECTION_DB` below their tone (voiced speech has
   harmonics, a DTMF generator does not);
5. each tone at least :data:`MIN_TONE_LEVEL_DBM0`.

Per tone (the run of passing windows of one key, misses of up to :data:`MAX_BRIDGED_GAP_MS`
bridged): measured duration at least :data:`MIN_TONE_MS`, and twist (row power over column
power, from the mean of the windows' powers) at most :data:`NORMAL_TWIST_DB`, reverse twist at
most :data:`REVERSE_TWIST_DB`. Twist is judged on the whole tone because one window's twist
estimate spreads by 0.3-0.4 dB (one standard deviation) at 15 dB SNR.

The Goertzel algorithm computes one DFT term at an arbitrary frequency with a two-multiply
recurrence per sample (:func:`goertzel` is that recurrence, vectorized over windows). Evaluating
the same 16 terms (8 tones, 8 second harmonics) for a batch of windows is, in numpy, a single
product of the window matrix with a precomputed cosine/sine basis (:func:`goertzel_basis`);
the detector does that, and the tests check that both give the same terms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from dialer.dsp.tones import (
    COLUMN_FREQUENCIES,
    KEYPAD,
    ROW_FREQUENCIES,
    SignalError,
    dbm0_to_power,
)

__all__ = [
    "FREQUENCY_TOLERANCE",
    "HARMONIC_REJECTION_DB",
    "HOP_MS",
    "MAX_BRIDGED_GAP_MS",
    "MIN_ENERGY_RATIO",
    "MIN_TONE_LEVEL_DBM0",
    "MIN_TONE_MS",
    "NORMAL_TWIST_DB",
    "RELATIVE_PEAK_DB",
    "REVERSE_TWIST_DB",
    "WINDOW_MS",
    "InbandDigit",
    "InbandDtmfDetector",
    "frequency_deviation",
    "goertzel",
    "goertzel_basis",
]

WINDOW_MS = 20.0
"""Analysis window length (160 samples at 8 kHz, Hann-weighted): see the module docstring."""

HOP_MS = 5.0
"""Step between windows; also the resolution of tone and gap durations."""

FREQUENCY_TOLERANCE = 0.025
"""Largest accepted deviation of each measured tone from nominal, as a fraction: midway between
the +-1.5 % a receiver must accept and the +-3.5 % it must reject (ITU-T Q.24)."""

NORMAL_TWIST_DB = 8.5
"""Largest accepted excess of the row (low-group) tone over the column tone. Receivers must
accept 8 dB; the extra 0.5 dB covers the power measurement's spread at 15 dB SNR."""

REVERSE_TWIST_DB = 4.5
"""Largest accepted excess of the column (high-group) tone over the row tone; 4 dB must be
accepted, plus the same 0.5 dB measurement margin."""

RELATIVE_PEAK_DB = 6.0
"""The chosen row (column) must exceed each other row (column) bin by this much: leakage of a
detuned tone into the next bin is at least 10 dB down with this window."""

MIN_ENERGY_RATIO = 0.8
"""Fraction of a window's total power (DC removed) that the two tones must carry."""

HARMONIC_REJECTION_DB = 12.0
"""A tone's second harmonic must be at least this far below it. DTMF generators keep unwanted
components about 20 dB below the tones; voiced speech has strong harmonics."""

HARMONIC_GUARD_HZ = 150.0
"""A row tone's second harmonic (1394-1882 Hz) falls among the column tones; it is only tested
when the detected column is at least this far away (3 bins), so that the column's own main
lobe is not taken for a harmonic. Column harmonics (2418-3266 Hz) are always tested."""

MIN_TONE_LEVEL_DBM0 = -36.0
"""Weakest tone accepted (each of the two, after twist): receivers must operate down to about
-25 dBm0 per tone; below -36 dBm0 is line noise or crosstalk."""

MIN_TONE_MS = 32.0
"""Shortest measured tone reported: midway between 25 ms (must be rejected) and the 40 ms
that must be detected, leaving room for the measurement's few ms of spread in noise."""

MAX_BRIDGED_GAP_MS = 30.0
"""Longest measured interruption that does not end a tone: dropouts of 10-20 ms (a lost
packet, a noise burst) are bridged, a 40 ms pause separates two key presses."""

_EDGE_MS = 3.75
"""Calibration: the first passing window starts on average this long before the tone (the
Hann taper lets a window whose first few ms are silence pass), and the last ends as long
after it; measured durations of clean tones then fall within +-2.5 ms of the truth."""

_RIVAL_WINDOWS = 2  # consecutive windows of another key that end the current one at once
_PHASE_SPAN_HZ = 100.0  # deviations tabulated for the window-gain correction (fs / 2 hop)


@dataclass(frozen=True, slots=True)
class InbandDigit:
    """One key press heard in the audio: the key, when its tone started (on the clock of the
    timestamps given to :meth:`InbandDtmfDetector.feed`) and how long it lasted."""

    digit: str
    start: float
    duration_ms: float

    @property
    def end(self) -> float:
        """When the tone stopped, same clock as :attr:`start`."""
        return self.start + self.duration_ms / 1000


def goertzel(
    frames: NDArray[np.float64], frequency: float, sample_rate: int
) -> NDArray[np.complex128]:
    """The Goertzel recurrence, run on every row of ``frames`` at once: returns the DFT term
    ``sum(x[n] * exp(-2j*pi*frequency*n/sample_rate))`` of each frame (the generalized form
    for a frequency that need not be a multiple of ``sample_rate/len``)."""
    omega = 2 * math.pi * frequency / sample_rate
    coefficient = 2 * math.cos(omega)
    length = frames.shape[1]
    s1 = np.zeros(frames.shape[0])
    s2 = np.zeros(frames.shape[0])
    for n in range(length):
        s1, s2 = frames[:, n] + coefficient * s1 - s2, s1
    # y = s1 - e^{-j w} s2 is the term of index ``length - 1`` phase-shifted; re-reference it.
    term = (s1 - np.exp(-1j * omega) * s2) * np.exp(-1j * omega * (length - 1))
    result: NDArray[np.complex128] = term.astype(np.complex128)
    return result


def goertzel_basis(
    length: int, frequencies: NDArray[np.float64], sample_rate: int
) -> NDArray[np.float64]:
    """The ``(length, 2 * K)`` matrix such that ``frames @ basis`` holds the real parts, then
    the imaginary parts, of :func:`goertzel` of each frame at each of the K ``frequencies``."""
    angles = 2 * np.pi * np.outer(np.arange(length), frequencies) / sample_rate
    basis: NDArray[np.float64] = np.concatenate([np.cos(angles), -np.sin(angles)], axis=1)
    return basis


def frequency_deviation(
    previous: NDArray[np.complex128],
    current: NDArray[np.complex128],
    frequencies: NDArray[np.float64],
    hop: int,
    sample_rate: int,
) -> NDArray[np.float64]:
    """Measured minus nominal frequency (Hz) of the tone in each bin, from the bin's phase
    advance between two windows ``hop`` samples apart (arrays broadcast together). Valid for
    deviations within ``+-sample_rate / (2 * hop)``; NaN where ``previous`` is NaN."""
    nominal = np.exp(-2j * np.pi * frequencies * hop / sample_rate)
    advance = np.angle(current * np.conj(previous) * nominal)
    deviation: NDArray[np.float64] = advance * sample_rate / (2 * np.pi * hop)
    return deviation


@dataclass(slots=True)
class _Run:
    """Passing windows of one key: start times of the first and last, and the sums of the
    row and column tone powers over them (for the twist of the whole tone)."""

    key: int
    first: float
    last: float
    row_power: float
    column_power: float

    def add(self, start: float, row_power: float, column_power: float) -> None:
        self.last = start
        self.row_power += row_power
        self.column_power += column_power


@dataclass(slots=True)
class _StreamState:
    """What the detector carries from one :meth:`InbandDtmfDetector.feed` to the next."""

    tail: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    previous_bins: NDArray[np.complex128] | None = None  # row+column bins of the last window
    current: _Run | None = None  # the key being held
    misses: int = 0  # windows since the current key's last passing window
    rival: _Run | None = None  # another key passing while the current one is still open
    rival_windows: int = 0


class InbandDtmfDetector:
    """Streaming DTMF receiver for one audio stream (see the module docstring for the tests).

    ``feed(pcm, timestamp)`` takes the next samples, contiguous with the previous call, and
    the time of their first sample (seconds, any clock: ``now`` or the RTP timestamp divided
    by the clock rate). It returns the key presses that ended, each once, in order. A key is
    reported when its tone has stopped for longer than :data:`MAX_BRIDGED_GAP_MS` (about
    45 ms after the tone's end, plus the wait for the chunk that completes that window) or
    another key started; :attr:`holding` tells which key is
    sounding now (for barge-in), and :meth:`flush` reports a key still sounding.
    """

    def __init__(self, sample_rate: int = 8000) -> None:
        if sample_rate < 8000:
            raise SignalError(
                f"sample rate {sample_rate} Hz cannot carry the 3266 Hz second harmonic"
            )
        self.sample_rate = sample_rate
        self.window = round(WINDOW_MS * sample_rate / 1000)
        self.hop = round(HOP_MS * sample_rate / 1000)
        tones = np.array(ROW_FREQUENCIES + COLUMN_FREQUENCIES)
        self._tones = tones
        n = np.arange(self.window)
        self._hann = np.hanning(self.window)
        self._basis = goertzel_basis(self.window, np.concatenate([tones, 2 * tones]), sample_rate)
        weight_sum = float(self._hann.sum())
        self._power_scale = 2.0 / (weight_sum * weight_sum)  # |bin|^2 -> sine power A^2/2
        self._total_scale = 1.0 / float(np.sum(self._hann * self._hann))
        grid = np.linspace(-_PHASE_SPAN_HZ, _PHASE_SPAN_HZ, 401)
        response = np.abs(np.exp(2j * np.pi * np.outer(grid, n) / sample_rate) @ self._hann)
        self._gain_grid = grid
        self._gain = (response / weight_sum) ** 2
        widest = FREQUENCY_TOLERANCE * max(COLUMN_FREQUENCIES)
        self._min_gain = float(self._gain[np.abs(grid) <= widest].min())
        self._row_harmonic_clear = (
            np.abs(2 * np.array(ROW_FREQUENCIES)[:, None] - np.array(COLUMN_FREQUENCIES)[None, :])
            >= HARMONIC_GUARD_HZ
        )
        self._min_power = dbm0_to_power(MIN_TONE_LEVEL_DBM0)
        self._state = _StreamState()
        self.windows_analysed = 0
        """Analysis windows seen so far."""
        self.windows_passed = 0
        """Windows that passed every per-window test (talk-off margin: speech should give
        almost none, and never :data:`MIN_TONE_MS` worth in a row)."""

    # ------------------------------------------------------------ public

    def feed(self, pcm: NDArray[np.int16], timestamp: float) -> list[InbandDigit]:
        """Analyse the next samples (1-D int16) whose first sample is at ``timestamp``."""
        samples = np.asarray(pcm)
        if samples.dtype != np.int16 or samples.ndim != 1:
            raise SignalError(
                f"feed() takes mono int16 samples, got {samples.dtype} of shape {samples.shape}"
            )
        state = self._state
        buffer = np.concatenate([state.tail, samples.astype(np.float64)])
        buffer_start = timestamp - len(state.tail) / self.sample_rate
        count = 0 if len(buffer) < self.window else (len(buffer) - self.window) // self.hop + 1
        if count == 0:
            state.tail = buffer
            return []
        frames = sliding_window_view(buffer, self.window)[:: self.hop][:count]
        state.tail = buffer[count * self.hop :]
        keys, row_power, column_power = self._classify(frames)
        self.windows_analysed += count
        starts = buffer_start + np.arange(count) * (self.hop / self.sample_rate)
        return self._track(keys, starts, row_power, column_power)

    def flush(self) -> list[InbandDigit]:
        """End of the stream: report a key still sounding (if long enough) and start over."""
        state = self._state
        reported = [] if state.current is None else self._close(state.current)
        self._state = _StreamState()
        return reported

    @property
    def holding(self) -> str | None:
        """The key whose tone is sounding now and has already lasted :data:`MIN_TONE_MS`."""
        current = self._state.current
        if current is None or self._duration_ms(current) < MIN_TONE_MS or not _twist_ok(current):
            return None
        return _key_name(current.key)

    # ------------------------------------------------------------ per window

    def _classify(
        self, frames: NDArray[np.float64]
    ) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
        """Per window: the key index (row * 4 + column) passing every per-window test, or -1;
        and the powers of the strongest row and column tone, corrected for detuning."""
        centred = frames - frames.mean(axis=1, keepdims=True)
        weighted = centred * self._hann
        parts = weighted @ self._basis
        real, imag = parts[:, :16], parts[:, 16:]
        power = (real * real + imag * imag) * self._power_scale
        fundamentals = real[:, :8] + 1j * imag[:, :8]
        state = self._state
        first = state.previous_bins
        state.previous_bins = fundamentals[-1:].copy()
        rows, columns = power[:, :4], power[:, 4:8]
        row_max, column_max = rows.max(axis=1), columns.max(axis=1)
        total = np.einsum("ij,ij->i", weighted, weighted) * self._total_scale
        # Fast path: tests 3 and 5 with the largest possible detuning correction. Silence and
        # nearly all speech stop here.
        reach = self._min_gain
        maybe = (np.minimum(row_max, column_max) >= reach * self._min_power) & (
            row_max + column_max >= reach * MIN_ENERGY_RATIO * total
        )
        if not maybe.any():
            nothing = np.zeros(len(frames))
            return np.full(len(frames), -1, dtype=np.int64), nothing, nothing
        if first is None:
            first = np.full((1, 8), np.nan + 0j)
        previous = np.concatenate([first, fundamentals[:-1]])
        deviation = frequency_deviation(
            previous, fundamentals, self._tones, self.hop, self.sample_rate
        )

        index = np.arange(len(frames))
        row = rows.argmax(axis=1)
        column = columns.argmax(axis=1)
        row_power = rows[index, row]
        column_power = columns[index, column]
        peak = 10 ** (RELATIVE_PEAK_DB / 10)
        distinct = (row_power >= peak * np.sort(rows, axis=1)[:, -2]) & (
            column_power >= peak * np.sort(columns, axis=1)[:, -2]
        )
        row_deviation = deviation[index, row]
        column_deviation = deviation[index, 4 + column]
        with np.errstate(invalid="ignore"):
            on_frequency = (
                np.abs(row_deviation) <= FREQUENCY_TOLERANCE * self._tones[row]
            ) & (np.abs(column_deviation) <= FREQUENCY_TOLERANCE * self._tones[4 + column])
        row_deviation = np.where(on_frequency, row_deviation, 0.0)
        column_deviation = np.where(on_frequency, column_deviation, 0.0)
        row_level = row_power / np.interp(row_deviation, self._gain_grid, self._gain)
        column_level = column_power / np.interp(column_deviation, self._gain_grid, self._gain)
        loud = np.minimum(row_level, column_level) >= self._min_power
        pure = row_level + column_level >= MIN_ENERGY_RATIO * total
        harmonic = 10 ** (-HARMONIC_REJECTION_DB / 10)
        column_clean = power[index, 12 + column] <= harmonic * column_power
        row_clean = ~self._row_harmonic_clear[row, column] | (
            power[index, 8 + row] <= harmonic * row_power
        )
        passed = maybe & distinct & on_frequency & loud & pure & column_clean & row_clean
        keys: NDArray[np.int64] = np.where(passed, row * 4 + column, -1)
        self.windows_passed += int(np.count_nonzero(passed))
        return keys, row_level, column_level

    # ------------------------------------------------------------ over time

    def _track(
        self,
        keys: NDArray[np.int64],
        starts: NDArray[np.float64],
        row_power: NDArray[np.float64],
        column_power: NDArray[np.float64],
    ) -> list[InbandDigit]:
        """Run the per-window keys through the hold / bridge / rival state machine."""
        state = self._state
        if state.current is None and state.rival is None and not (keys >= 0).any():
            return []
        reported: list[InbandDigit] = []
        bridge_windows = self._bridge_windows()
        windows = zip(keys.tolist(), starts.tolist(), row_power.tolist(), column_power.tolist())
        for key, start, row, column in windows:
            current = state.current
            if current is None:
                if key >= 0:
                    state.current = _Run(key, start, start, row, column)
                    state.misses = 0
                continue
            if key == current.key:
                current.add(start, row, column)
                state.misses = 0
                state.rival, state.rival_windows = None, 0
                continue
            state.misses += 1
            if key >= 0:
                if state.rival is not None and state.rival.key == key:
                    state.rival.add(start, row, column)
                    state.rival_windows += 1
                else:
                    state.rival, state.rival_windows = _Run(key, start, start, row, column), 1
            else:
                state.rival, state.rival_windows = None, 0
            if state.rival_windows >= _RIVAL_WINDOWS or state.misses >= bridge_windows:
                reported += self._close(current)
                state.current, state.misses = state.rival, 0
                state.rival, state.rival_windows = None, 0
        return reported

    def _bridge_windows(self) -> int:
        """Misses after which any later passing window would imply a gap longer than
        :data:`MAX_BRIDGED_GAP_MS`: a next hit ``k`` hops after the last one measures a gap of
        ``k * hop - window + 2 * edge``."""
        hop_ms = self.hop * 1000 / self.sample_rate
        window_ms = self.window * 1000 / self.sample_rate
        return max(1, math.floor((MAX_BRIDGED_GAP_MS + window_ms - 2 * _EDGE_MS) / hop_ms))

    def _duration_ms(self, run: _Run) -> float:
        return (run.last - run.first) * 1000 + self.window * 1000 / self.sample_rate - 2 * _EDGE_MS

    def _close(self, run: _Run) -> list[InbandDigit]:
        duration = self._duration_ms(run)
        if duration < MIN_TONE_MS or not _twist_ok(run):
            return []
        return [InbandDigit(_key_name(run.key), run.first + _EDGE_MS / 1000, duration)]


def _twist_ok(run: _Run) -> bool:
    """Twist of the whole tone, from its windows' summed powers: one window's estimate spreads
    by 0.4 dB at 15 dB SNR, too much to judge an 8 dB twist against an 8.5 dB limit."""
    row, column = run.row_power, run.column_power
    return (
        row <= 10 ** (NORMAL_TWIST_DB / 10) * column
        and column <= 10 ** (REVERSE_TWIST_DB / 10) * row
    )


def _key_name(key: int) -> str:
    return KEYPAD[key // 4][key % 4]
