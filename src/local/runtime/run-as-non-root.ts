/**
 * The platform runs pods with runAsNonRoot: the kubelet must be able to tell from the image that
 * the user is not root, which it can only do for a numeric uid. Returns why `user` (the image's
 * USER, "uid", "uid:gid", "name" or "name:group") would fail like CreateContainerConfigError, or
 * undefined when it is acceptable (an empty USER is reported separately, as a warning).
 */
export function runAsNonRootViolation(user: string): string | undefined {
  const u = user.trim();
  if (!u) return undefined;
  const uid = u.split(":")[0]!;
  if (!/^\d+$/.test(uid)) {
    return `CreateContainerConfigError: USER ${u} is not numeric, so the platform cannot verify that the user is non-root (runAsNonRoot); use a numeric USER such as 65534 (e.g. USER 65534 or USER 1000:1000)`;
  }
  if (Number(uid) === 0) {
    return `CreateContainerConfigError: USER ${u} is root, and the platform runs pods as non-root (runAsNonRoot); use a numeric non-root USER such as 65534`;
  }
  return undefined;
}
