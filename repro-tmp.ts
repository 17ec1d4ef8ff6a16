import { getLlama, LlamaLogLevel } from "node-llama-cpp";
const a = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
const b = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
console.log("same instance?", a === b);
const ma = await a.loadModel({ modelPath: "models/target.gguf" });
const mb = await b.loadModel({ modelPath: "models/target.gguf" });
const cb = await mb.createContext({ threads: 1, contextSize: 256 });
await ma.dispose(); await a.dispose();
console.log("a disposed, b.disposed =", b.disposed, "mb.disposed =", mb.disposed);
const seq = cb.getSequence();
const tokens = mb.tokenize("hello world");
for await (const t of seq.evaluate(tokens)) { console.log("token", t); break; }
await cb.dispose(); await mb.dispose(); await b.dispose();
console.log("done");
