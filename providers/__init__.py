"""PiAPI: the catalogue of models, selection, prompts, the HTTP client and the sandbox."""
