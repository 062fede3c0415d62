"""The benchmark and check tools: they import `sft_studio`, `sft_studio` never imports them.

runner: this trainer against the HF Trainer and TRL in the same run (`python -m sft_bench`, `npm run bench`);
estimate_check: the memory estimator against measured peaks (`python -m sft_bench.estimate_check`);
memtrack: peak live tensor bytes (`LiveTensorBytes`), the memory measure of both.
Run with bench/ and trainer/ on PYTHONPATH (bench/run.mjs and bench/gpu_check.py set them up).
"""
