// One place that starts a target for a round: Mend from a copy of a provisioned data directory
// (plaintext spaces for `mend`, sealed ones for `mend-sealed`), the peers empty (their rooms need
// no provisioning).
import { cloneDir, isMend, provisionCouples, startTarget } from './targets.mjs';

/**
 * @param {string} name
 * @param {number} couples
 * @param {{ dir: string, couples: Array<{ room: string, tokens: string[] }> } | null} template
 *   the template of this target: mendTemplate for `mend`, sealedTemplate for `mend-sealed`
 */
export async function launch(name, couples, template, options = {}) {
  if (isMend(name)) {
    if (!template || template.couples.length < couples) {
      throw new Error(`${name} needs a template with at least ${couples} couples`);
    }
    const target = await startTarget(name, { ...options, dataDir: cloneDir(template.dir) });
    return { target, couples: template.couples.slice(0, couples) };
  }
  const target = await startTarget(name, options);
  return { target, couples: await provisionCouples(target, couples) };
}
