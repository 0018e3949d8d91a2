import type { Octokit } from "./client.js";

/** The login the app's comments carry (`<slug>[bot]`), from `GET /app` with the app's JWT. */
export async function botLogin(appOctokit: Octokit): Promise<string> {
  const { data } = await appOctokit.rest.apps.getAuthenticated();
  if (!data?.slug) throw new Error("GET /app returned no slug");
  return `${data.slug}[bot]`;
}
