/**
 * Who may publish and subscribe what (contract §6), pure. The embedded broker enforces it; for an
 * external broker the same rules are written into the broker's own ACL files.
 *
 *  - a device publishes only `{prefix}/{its school}/{its id}/{type}` (the parser then checks that
 *    its kind may send that type) and subscribes only to its own `…/alarm/state`, and a canteen
 *    terminal also to its own school's case notifications (`_gateway/{school}/canteen/case`);
 *  - `_gateway/*` and every `alarm/state` are written by the gateway alone;
 *  - a tool login (a gateway user, maintenance or above) reads under the prefix and publishes nothing;
 *  - `$SYS` and every other `$` topic are closed to everyone.
 */
import type { MqttIdentity } from './bus.js';
import { isGatewayOutput } from './parse.js';

/** `kindOf`: the registry kind of a device (a canteen terminal reads its school's case notifications). */
export function subscribeAllowed(prefix: string, who: MqttIdentity, filter: string, kindOf: (device: string) => string | undefined = () => undefined): boolean {
  if (filter.startsWith('$') || filter === '#' || filter.startsWith('+')) return false;
  if (who.kind === 'device')
    return filter === `${prefix}/${who.school}/${who.device}/alarm/state` || (kindOf(who.device) === 'canteen_terminal' && filter === `${prefix}/_gateway/${who.school}/canteen/case`);
  return filter.startsWith(`${prefix}/`);
}

/** Why `who` may not publish on a topic with these levels below the prefix (`null`: not under the prefix), or `null` when it may. */
export function publishRefusal(prefix: string, who: MqttIdentity, levels: string[] | null): string | null {
  if (who.kind === 'user') return `"${who.user}" is a tool login: it may subscribe, not publish`;
  if (!levels) return `device "${who.device}" may publish only under ${prefix}/${who.school}/${who.device}/`;
  if (isGatewayOutput(levels)) return `only the gateway publishes ${levels[0] === '_gateway' ? `${prefix}/_gateway/…` : '…/alarm/state'}`;
  if (levels.length === 3 && levels[1] !== who.device) return `device "${who.device}" may publish only as itself, not as "${levels[1]}"`;
  return null;
}
