package io.pvio.virtio.user;

/** 16-bit ring index arithmetic of split virtqueues (virtio 1.x, 2.7.10 and 2.7.7.2). */
final class RingMath {
    private RingMath() {
    }

    /** (a - b) mod 2^16: entries between free-running 16-bit indices b (older) and a (newer). */
    static int distance(int a, int b) {
        return (a - b) & 0xffff;
    }

    /** idx + n mod 2^16. */
    static int add(int idx, int n) {
        return (idx + n) & 0xffff;
    }

    /**
     * vring_need_event: with EVENT_IDX, whether moving an index from {@code oldIdx} to {@code newIdx} crosses
     * the other side's event index {@code eventIdx} (i.e. eventIdx is in [oldIdx, newIdx)).
     */
    static boolean needEvent(int eventIdx, int newIdx, int oldIdx) {
        return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
    }

    static int alignUp(int v, int a) {
        return (v + a - 1) & -a;
    }
}
