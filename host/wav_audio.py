"""The host panel's microphone and speaker: WAV files (CPython's wave module).

WavSource(path, loop=True)   the visitor's voice: read_frame(buffer) fills 20 ms
    of 16-bit mono PCM at 8 kHz (drivers.rtp_session's source interface). Any
    16-bit mono or stereo WAV is accepted: it is mixed to mono and resampled
    to 8 kHz (linear interpolation) once, when the file is read. After the end
    it starts again (loop) or gives silence.
WavSink(path)                what the resident says: write_frame(frame) appends
    20 ms; close() finishes the file (the wave header's sizes).
call_sink_factory(directory) callable() -> a WavSink on a new file per call
    (call-<time>-<n>.wav) under directory.
default_voice(path)          the default phrase, made with espeak-ng when the
    file is not there yet; None when espeak-ng is missing.
"""

import os
import shutil
import subprocess
import time
import wave
from array import array

RATE = 8000
FRAME_SAMPLES = 160
DEFAULT_PHRASE = "Hello, this is the visitor at the front door. Please let me in. One two three."


def read_wav(path):
    """array('h') of 8 kHz mono samples of a 16-bit WAV file."""
    with wave.open(path, "rb") as reader:
        if reader.getsampwidth() != 2:
            raise ValueError("%s: only 16-bit WAV files are read" % path)
        channels = reader.getnchannels()
        rate = reader.getframerate()
        samples = array("h")
        samples.frombytes(reader.readframes(reader.getnframes()))
    if channels > 1:
        samples = array(
            "h",
            [
                sum(samples[index : index + channels]) // channels
                for index in range(0, len(samples), channels)
            ],
        )
    if rate == RATE or not samples:
        return samples
    count = int(len(samples) * RATE / rate)
    resampled = array("h", bytes(2 * count))
    step = rate / RATE
    last = len(samples) - 1
    for index in range(count):
        position = index * step
        left = int(position)
        right = min(left + 1, last)
        fraction = position - left
        resampled[index] = int(samples[left] * (1 - fraction) + samples[right] * fraction)
    return resampled


class WavSource:
    def __init__(self, path, loop=True):
        self.path = path
        self.loop = loop
        self.samples = read_wav(path)
        self.position = 0
        self.frames = 0

    def read_frame(self, buffer):
        samples = self.samples
        if self.position >= len(samples):
            if not self.loop or not samples:
                return False
            self.position = 0
        chunk = samples[self.position : self.position + FRAME_SAMPLES]
        if len(chunk) < FRAME_SAMPLES:
            chunk.extend([0] * (FRAME_SAMPLES - len(chunk)))
        buffer[: 2 * FRAME_SAMPLES] = chunk.tobytes()
        self.position += FRAME_SAMPLES
        self.frames += 1
        return True


class WavSink:
    def __init__(self, path):
        self.path = path
        self.frames = 0
        self.writer = wave.open(path, "wb")
        self.writer.setnchannels(1)
        self.writer.setsampwidth(2)
        self.writer.setframerate(RATE)

    def write_frame(self, frame):
        if self.writer is not None:
            self.writer.writeframes(bytes(frame))
            self.frames += 1

    def close(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def call_sink_factory(directory):
    """callable() -> WavSink on a new file per call under directory."""
    counter = [0]

    def open_sink():
        os.makedirs(directory, exist_ok=True)
        counter[0] += 1
        name = "call-%s-%d.wav" % (time.strftime("%Y%m%d-%H%M%S"), counter[0])
        return WavSink(os.path.join(directory, name))

    return open_sink


def default_voice(path, phrase=DEFAULT_PHRASE):
    """path of the default visitor phrase (made with espeak-ng if missing), or None."""
    if os.path.exists(path):
        return path
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return None
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".partial"
    subprocess.run([espeak, "-w", partial, phrase], check=True, capture_output=True, timeout=60)
    os.replace(partial, path)
    return path
