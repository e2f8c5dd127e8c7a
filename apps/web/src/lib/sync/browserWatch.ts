import { isQuotaError } from './storageErrors.js';

export interface BrowserHooks {
  online(): void;
  offline(): void;
  /** The device is (nearly) out of storage. */
  quota(): void;
  /** Whether another tab or window of this browser has the same space open. */
  otherTab(present: boolean): void;
  /**
   * The page is hidden or closing (`visibilitychange` to hidden, `pagehide`): on a phone, the
   * last moment it surely runs before the system may end it.
   */
  hiding(): void;
}

/**
 * What the browser tells an open space: the network coming and going, storage running out, and
 * other tabs with the same space (BroadcastChannel). Also asks the browser to keep the site's
 * storage. Returns what stops watching.
 */
export function watchBrowser(spaceId: string, hooks: BrowserHooks): () => void {
  checkStorage(hooks);
  if (typeof window === 'undefined') return () => {};
  const onOnline = () => hooks.online();
  const onOffline = () => hooks.offline();
  const onRejection = (event: PromiseRejectionEvent) => {
    if (isQuotaError(event.reason)) hooks.quota();
  };
  window.addEventListener('online', onOnline);
  window.addEventListener('offline', onOffline);
  window.addEventListener('unhandledrejection', onRejection);
  const onHide = () => hooks.hiding();
  const onVisibility = () => {
    if (document.visibilityState === 'hidden') hooks.hiding();
  };
  window.addEventListener('pagehide', onHide);
  document.addEventListener('visibilitychange', onVisibility);
  const stopTabs = watchTabs(spaceId, hooks);
  return () => {
    stopTabs();
    window.removeEventListener('online', onOnline);
    window.removeEventListener('offline', onOffline);
    window.removeEventListener('unhandledrejection', onRejection);
    window.removeEventListener('pagehide', onHide);
    document.removeEventListener('visibilitychange', onVisibility);
  };
}

function watchTabs(spaceId: string, hooks: BrowserHooks): () => void {
  if (typeof BroadcastChannel === 'undefined') return () => {};
  const channel = new BroadcastChannel(`mend-tabs:${spaceId}`);
  const tabId = Math.random().toString(36).slice(2);
  // Plain bookkeeping; only whether there are others is shown.
  const others = new Set<string>();
  channel.onmessage = (event: MessageEvent<{ type: string; tabId: string }>) => {
    const { type, tabId: from } = event.data;
    if (type === 'hello') {
      others.add(from);
      channel.postMessage({ type: 'here', tabId });
    } else if (type === 'here') others.add(from);
    else if (type === 'bye') others.delete(from);
    hooks.otherTab(others.size > 0);
  };
  channel.postMessage({ type: 'hello', tabId });
  const onHide = () => channel.postMessage({ type: 'bye', tabId });
  window.addEventListener('pagehide', onHide);
  return () => {
    onHide();
    window.removeEventListener('pagehide', onHide);
    channel.close();
  };
}

/** Asks the browser to keep this copy, and warns early when the device is nearly full. */
function checkStorage(hooks: BrowserHooks): void {
  if (typeof navigator === 'undefined' || !navigator.storage) return;
  void navigator.storage.persist?.().catch(() => false);
  void navigator.storage
    .estimate?.()
    .then(({ usage, quota }) => {
      if (usage !== undefined && quota !== undefined && quota > 0 && usage / quota > 0.95) {
        hooks.quota();
      }
    })
    .catch(() => undefined);
}
