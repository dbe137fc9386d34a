"""The audio half of the pipeline: audio chunks on one clock, voice activity, speech
recognition, speech synthesis with viseme timelines."""
