"""The call's WebRTC transport: the patient's audio and video tracks, the peer connection
with the learner's browser, and the pluggable pipeline that talks through it."""

from simpatient.transport.peer import CallPeer, SignallingError
from simpatient.transport.pipeline import CallPipeline, EchoPipeline
from simpatient.transport.tracks import FrameSource, PatientAudioTrack, PatientVideoTrack, Playback

__all__ = [
    "CallPeer",
    "CallPipeline",
    "EchoPipeline",
    "FrameSource",
    "PatientAudioTrack",
    "PatientVideoTrack",
    "Playback",
    "SignallingError",
]
