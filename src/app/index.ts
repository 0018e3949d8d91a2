export { type AppOptions, createApp, type MlreviewApp } from "./app.js";
export { createLogger, scrub } from "./logger.js";
export { MlreviewOctokit } from "./octokit.js";
export { refusal, start } from "./start.js";
