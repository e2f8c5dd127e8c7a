import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchBrowser } from './browserWatch.js';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('watchBrowser', () => {
  it('tells the space when the page is hidden or closing, not when it shows again', () => {
    const page = new EventTarget();
    const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' });
    vi.stubGlobal('window', page);
    vi.stubGlobal('document', doc);
    let hiding = 0;
    const stop = watchBrowser('space_watch_test', {
      online: () => {},
      offline: () => {},
      quota: () => {},
      otherTab: () => {},
      hiding: () => hiding++,
    });
    doc.visibilityState = 'hidden';
    doc.dispatchEvent(new Event('visibilitychange'));
    expect(hiding).toBe(1);
    doc.visibilityState = 'visible';
    doc.dispatchEvent(new Event('visibilitychange'));
    expect(hiding).toBe(1);
    page.dispatchEvent(new Event('pagehide'));
    expect(hiding).toBe(2);
    stop();
    page.dispatchEvent(new Event('pagehide'));
    doc.visibilityState = 'hidden';
    doc.dispatchEvent(new Event('visibilitychange'));
    expect(hiding).toBe(2);
  });
});
