// Runs exported GGUF files in llama.cpp (node-llama-cpp's prebuilt CPU binary, never a local build) for
// trainer/tests/test_export_gguf_llamacpp.py. Reads a job (JSON file named by argv[2]):
//   {"cases": [{"gguf": PATH, "prompts": [{"text": STR, "ids": [INT], "reference": [INT]}], "max_new": N}]}
// and prints one JSON line: per case, the chat template and special tokens llama.cpp read, and per prompt its tokenization
// of `text` (special tokens parsed, no BOS added: the text is a rendered chat template), its greedy answer to
// `ids` (up to max_new tokens or an end-of-generation token), and, teacher-forced along ids + reference, the
// top token and the probability it gives each reference token at every answer position.
// Set NODE_LLAMA_CPP_DIR to the folder whose node_modules holds node-llama-cpp.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const require = createRequire(path.join(process.env.NODE_LLAMA_CPP_DIR ?? process.cwd(), "package.json"));
const { getLlama } = await import(pathToFileURL(require.resolve("node-llama-cpp")).href);

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const results = [];
for (const c of job.cases) {
  const model = await llama.loadModel({ modelPath: c.gguf });
  const context = await model.createContext({ contextSize: 512, batchSize: 512, threads: 2 });
  const sequence = context.getSequence();
  const prompts = [];
  for (const p of c.prompts) {
    const tokenized = Array.from(model.tokenize(p.text, true));
    await sequence.clearHistory();
    const answer = [];
    for await (const token of sequence.evaluate(p.ids, { temperature: 0 })) {
      if (model.isEogToken(token)) { answer.push(token); break; }
      answer.push(token);
      if (answer.length >= c.max_new) break;
    }
    await sequence.clearHistory();
    const forced = [...p.ids, ...p.reference.slice(0, -1)];
    const wanted = new Set(Array.from({ length: p.reference.length }, (_, i) => p.ids.length - 1 + i));
    const out = await sequence.controlledEvaluate(
      forced.map((token, i) => (wanted.has(i) ? [token, { generateNext: { probabilities: true } }] : token)));
    const top = [], refProb = [], topProb = [];
    for (let i = 0; i < p.reference.length; i++) {
      const probs = out[p.ids.length - 1 + i]?.next?.probabilities ?? new Map();
      let best = -1, bestP = -1;
      for (const [token, prob] of probs) if (prob > bestP) { best = token; bestP = prob; }
      top.push(best); topProb.push(bestP); refProb.push(probs.get(p.reference[i]) ?? 0);
    }
    await sequence.clearHistory();
    prompts.push({ tokenized, answer, top, topProb, refProb });
  }
  results.push({
    gguf: c.gguf,
    chatTemplate: model.fileInfo.metadata?.tokenizer?.chat_template ?? null,
    eog: { eos: model.tokens.eos, eot: model.tokens.eot, bos: model.tokens.bos },
    prompts,
  });
  sequence.dispose();
  await context.dispose();
  await model.dispose();
}
await llama.dispose();
console.log(JSON.stringify(results));
