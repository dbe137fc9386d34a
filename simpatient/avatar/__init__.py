"""The patient's face: a renderer stage that turns visemes, expression and mode into
video frames on the audio's clock.

What the pipeline and the transport call::

    renderer = open_renderer(persona, settings.avatar)     # loads; CPU face as fallback
    stream = AvatarStream(renderer, start=call_start)      # call_start: a now() reading
    stream.set_mode(Mode.listening)                        # the learner speaks
    stream.express(Expression(state.emotion, state.intensity))
    stream.speak(utterance.audio, utterance.visemes, at=stream.at(playout_time))
    async for frame in stream.frames():                    # paced, drops when late
        send(frame.image, pts=frame.pts)                   # frame.time is on now()'s clock
"""

from simpatient.avatar.frames import Expression, FaceInput, Mode, Speech, VideoFrame
from simpatient.avatar.preview import open_renderer
from simpatient.avatar.renderer import AvatarRenderer, RenderOptions, create_renderer
from simpatient.avatar.stream import AvatarStream

__all__ = [
    "AvatarRenderer",
    "AvatarStream",
    "Expression",
    "FaceInput",
    "Mode",
    "RenderOptions",
    "Speech",
    "VideoFrame",
    "create_renderer",
    "open_renderer",
]
