"""The patient's side of the conversation: prompt, LLM backends, reply stream."""
