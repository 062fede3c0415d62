"""Export: a checkpoint to a merged model, the Hub, ONNX or GGUF (one module per format; command.py is the
`export` command), with the model card and the Ollama Modelfile.

Imports data/ and model/ (never train/: an export reads a checkpoint folder, not a run)."""
