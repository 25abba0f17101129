"""What the real-peer voice tests share: the panel as `make run` starts it
with a WAV file as the visitor's voice (VoicePanel), phrases made with
espeak-ng at 8 kHz (phrase_wav), and a lag-searching normalised
cross-correlation of two recordings (best_correlation).

The correlation sums run in C (sum over map(operator.mul, ...)), so a search
over a few hundred lags of a few seconds of audio stays well under a second
of CPU per hundred lags on CPython without numpy.
"""

import glob
import math
import operator
import os
import time
import wave
from array import array

from host import wav_audio
from support.panel_process import PanelProcess
from support.sipp import panel_sip_account

FRAME = 160  # 20 ms at 8 kHz, the panel's and baresip's frame


def phrase_wav(path, phrase):
    """A 16-bit mono 8 kHz WAV of `phrase` spoken by espeak-ng (None without it)."""
    spoken = wav_audio.default_voice(path + ".espeak.wav", phrase)
    if spoken is None:
        return None
    samples = wav_audio.read_wav(spoken)
    with wave.open(path, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(samples.tobytes())
    return path


def looped(samples, frame=FRAME):
    """The reference as the panel's WavSource repeats it: its last frame
    padded with silence to a whole 20 ms."""
    padded = array("h", samples)
    padded.extend([0] * (-len(padded) % frame))
    return padded


def correlation_at(recorded, reference, lag, loop=False):
    """Pearson correlation of recorded[lag:] with reference (repeated if loop)."""
    available = len(recorded) - lag
    count = min(available, 4 * len(reference)) if loop else min(available, len(reference))
    if count <= FRAME:
        return 0.0
    x = recorded[lag : lag + count]
    if loop:
        repeats = count // len(reference) + 1
        y = (reference * repeats)[:count]
    else:
        y = reference[:count]
    sum_x, sum_y = sum(x), sum(y)
    sum_xy = sum(map(operator.mul, x, y))
    sum_xx = sum(map(operator.mul, x, x))
    sum_yy = sum(map(operator.mul, y, y))
    covariance = sum_xy / count - (sum_x / count) * (sum_y / count)
    spread = math.sqrt(
        max(sum_xx / count - (sum_x / count) ** 2, 1e-9)
        * max(sum_yy / count - (sum_y / count) ** 2, 1e-9)
    )
    return covariance / spread


def best_correlation(recorded, reference, max_lag_s=4.0, loop=False):
    """(correlation, lag in samples): whole frames first, then every sample
    around the best frame (a peer's packets need not start on our frames)."""
    best = (-1.0, 0)
    for lag in range(0, int(max_lag_s * 8000), FRAME):
        value = correlation_at(recorded, reference, lag, loop)
        if value > best[0]:
            best = (value, lag)
    centre = best[1]
    for lag in range(max(0, centre - FRAME), centre + FRAME, 4):
        value = correlation_at(recorded, reference, lag, loop)
        if value > best[0]:
            best = (value, lag)
    return best


def wait_until(predicate, timeout, what, detail=lambda: ""):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s; %s" % (what, detail()))
        time.sleep(0.05)


class VoicePanel:
    """The host panel with `voice` as the visitor's voice and one SIP account."""

    def __init__(self, directory, voice, proxy, extra_args=(), dial_timeout=10):
        self.directory = str(directory)
        self.voice = voice
        self.process = PanelProcess(
            directory,
            extra_args=["--sip-port", "0", "--no-adapter", "--voice", voice] + list(extra_args),
        ).start()
        self.api(
            "POST",
            "/api/v1/device/call/dial/timeout",
            {"dial_timeout": dial_timeout, "forwarding_timeout": 5},
        )
        self.account = panel_sip_account(proxy)

    def enable_sip(self, **changes):
        self.account.update(changes)
        self.api("POST", "/api/v1/device/sip/settings", self.account)
        self.api("POST", "/api/v1/device/sip/enable", {"sip_enable": True})

    def api(self, method, path, body=None, expect=200):
        reply = self.process.request(method, path, body)
        assert reply.status == expect, (method, path, reply)
        return reply.json if reply.raw else None

    def call(self):
        return self.process.request("GET", "/sim/call", auth=None).json

    def sip_status(self):
        return self.api("GET", "/api/v1/device/sip/status")

    def hangup(self):
        return self.process.request("POST", "/sim/call/hangup", auth=None)

    def locks(self):
        return self.process.request("GET", "/sim/locks", auth=None).json["locks"]

    def wait_for(self, predicate, timeout, what):
        return wait_until(predicate, timeout, what, lambda: "call: %s" % self.call())

    def recordings(self):
        return sorted(glob.glob(os.path.join(self.directory, "calls", "*.wav")))

    def log(self, event):
        items = self.api("GET", "/api/v1/log/items?limit=100")["list_items"]
        items.reverse()
        return [item["info"] for item in items if item["name"]["key"] == event]

    def stop(self):
        self.process.stop()


def segmented_correlation(recorded, reference, segment_s=0.5, max_lag_s=4.0, loop=False):
    """(mean correlation, lags in ms): each segment of the reference found at
    its own best lag, the mean weighted by the segment's energy (silence
    counts for nothing). An adaptive jitter buffer that grows by a frame or
    two mid-call shifts the rest of the recording; one global lag would
    count that shift as a mismatch although every word came through."""
    size = int(segment_s * 8000)
    base = looped(reference) if loop else reference
    total = weight_sum = 0.0
    lags = []
    for start in range(0, len(base) - size + 1, size):
        segment = base[start : start + size]
        energy = sum(map(operator.mul, segment, segment)) / size
        if energy < 1e4:  # below about -50 dBFS: nothing to find
            continue
        tail = recorded[start:]
        value, lag = best_correlation(tail, segment, max_lag_s)
        total += value * energy
        weight_sum += energy
        lags.append(lag // 8)
    return (total / weight_sum if weight_sum else 0.0), lags


def both_directions(heard_by_panel_wav, heard_by_phone_wav, phone_phrase, panel_phrase, label):
    """The correlations of one call's two directions, printed: a dict with
    to_panel / to_phone (segmented, what the tests assert), their whole-file
    figures at one lag, the lags, and `own`: the panel's phrase in the
    panel's recording (the control: not an echo of itself)."""
    heard_by_panel = wav_audio.read_wav(heard_by_panel_wav)
    heard_by_phone = wav_audio.read_wav(heard_by_phone_wav)
    resident = wav_audio.read_wav(phone_phrase)
    visitor = looped(wav_audio.read_wav(panel_phrase))
    result = {}
    result["to_panel"], result["lags_panel"] = segmented_correlation(heard_by_panel, resident)
    result["to_phone"], result["lags_phone"] = segmented_correlation(heard_by_phone, visitor)
    result["whole_panel"], _ = best_correlation(heard_by_panel, resident)
    result["whole_phone"], _ = best_correlation(heard_by_phone, visitor, loop=True)
    result["own"], _ = best_correlation(heard_by_panel, visitor, loop=True)
    print(
        "%s: phone -> panel %.4f (one lag %.4f; lags ms %s); panel -> phone %.4f "
        "(one lag %.4f; lags ms %s); panel's own phrase in its recording %.4f"
        % (
            label,
            result["to_panel"],
            result["whole_panel"],
            sorted(set(result["lags_panel"])),
            result["to_phone"],
            result["whole_phone"],
            sorted(set(result["lags_phone"])),
            result["own"],
        )
    )
    return result
