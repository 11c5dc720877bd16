// Fingerprints for optimistic locking: 8 bytes of a hash of the content, base64, like Compute's.
// Content-based, so writing the same content twice keeps the fingerprint (as Compute does).
import { createHash } from 'node:crypto';
import { canonicalJson } from './json.ts';

/** What Compute reports as labelFingerprint for a resource without labels. */
export const EMPTY_LABELS_FINGERPRINT = '42WmSpB8rSM=';

export function fingerprintOf(content: unknown): string {
  return createHash('sha256').update(canonicalJson(content)).digest().subarray(0, 8).toString('base64');
}

export function labelFingerprintOf(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels).length === 0 ? EMPTY_LABELS_FINGERPRINT : fingerprintOf(labels);
}
