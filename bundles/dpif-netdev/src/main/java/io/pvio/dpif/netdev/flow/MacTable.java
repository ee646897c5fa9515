package io.pvio.dpif.netdev.flow;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * The NORMAL pipeline's MAC learning table (OVS's mac-learning), one per bridge, shared by every PMD.
 *
 * <p>A station is a MAC in a VLAN (OVS learns per VLAN; 0 for untagged traffic on a trunk). Open addressing
 * over one {@code long} key per slot ({@code PRESENT | vlan << 48 | mac}) with its port and age in parallel
 * arrays: a writer stores the port before it publishes the key (release), and a reader takes the port only if
 * the slot still holds its key after the port was read, so {@link #lookup} sees a consistent key and port
 * without a lock, and allocates nothing. Writers (learning a new station or a move, flushes, ageing) take a
 * small spin lock; refreshing the age of a known entry is a plain opaque store. Entries older than the ageing
 * time are treated as absent. Times are in seconds of {@link #nowSeconds(long)}.
 */
public final class MacTable {
    private static final long EMPTY = 0;
    private static final long TOMB = -1;
    /** In a key: the slot holds a station (so that MAC 0 in VLAN 0 is not {@link #EMPTY}). */
    private static final long PRESENT = 1L << 62;
    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle USED = MethodHandles.arrayElementVarHandle(int[].class);
    private static final VarHandle PORTS = USED;
    private static final VarHandle LOCK;
    private static final long EPOCH = System.nanoTime();

    static {
        try {
            LOCK = MethodHandles.lookup().findVarHandle(MacTable.class, "lock", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private static final class Tab {
        final long[] slots;
        final int[] ports;
        final int[] used;
        final int mask;

        Tab(int capacity) {
            slots = new long[capacity];
            ports = new int[capacity];
            used = new int[capacity];
            mask = capacity - 1;
        }
    }

    /** One entry, for fdb/show: {@code ageSeconds} is {@link #STATIC} for a static one (fdb/add). */
    public record Entry(int port, long mac, int vlan, int ageSeconds) {
        public boolean isStatic() {
            return ageSeconds == STATIC;
        }
    }

    /**
     * The age (the {@code used} time) of a static entry (OVS's fdb/add): it never ages, is never moved by
     * learning nor evicted, and survives fdb/flush; deleting its port removes it.
     */
    public static final int STATIC = Integer.MAX_VALUE;

    /** Written under the lock ({@link #setConfig}); read by learners under it, by fdb commands without. */
    private volatile int maxEntries;
    /** Written under the lock ({@link #setConfig}); read by every lookup. */
    private volatile int agingSeconds;
    private volatile Tab tab;
    @SuppressWarnings("unused") private volatile int lock;
    private int live; // guarded by lock
    private int tombs; // guarded by lock
    private int expiredAt = Integer.MIN_VALUE; // guarded by lock: when a full table was last expired
    // fdb/stats-show's totals, as OVS's mac_learning counts them; guarded by lock
    private long learned;
    private long expired;
    private long moved;
    private int statics; // guarded by lock

    public MacTable(int maxEntries, int agingSeconds) {
        this.maxEntries = maxEntries;
        this.agingSeconds = agingSeconds;
        this.tab = new Tab(capacity(maxEntries));
    }

    /** Slots for {@code maxEntries}: a power of two, at least twice as many. */
    private static int capacity(int maxEntries) {
        return Integer.highestOneBit(Math.max(4, maxEntries) * 2 - 1) << 1;
    }

    /**
     * The Bridge's other_config:mac-table-size and mac-aging-time (bridge_configure_mac_table): entries age
     * out {@code agingSeconds} after they were last seen; a table above {@code maxEntries} loses its least
     * recently seen entries at once (counted as expired, as OVS's mac_learning_run does); a larger one gets
     * more slots, without the entries aged at {@code now}. Control path.
     */
    public void setConfig(int maxEntries, int agingSeconds, int now) {
        lock();
        try {
            this.agingSeconds = agingSeconds;
            this.maxEntries = maxEntries;
            Tab t = tab;
            if (capacity(maxEntries) > t.mask + 1) {
                t = rebuild(t, capacity(maxEntries), now);
            }
            if (live > maxEntries) {
                List<long[]> byAge = new ArrayList<>(); // {used, slot}
                for (int i = 0; i <= t.mask; i++) {
                    long v = t.slots[i];
                    if (v != EMPTY && v != TOMB && t.used[i] != STATIC) { // static entries stay
                        byAge.add(new long[] {t.used[i], i});
                    }
                }
                byAge.sort((x, y) -> Long.compare(x[0], y[0]));
                for (int k = 0; live > maxEntries && k < byAge.size(); k++) {
                    SLOTS.setRelease(t.slots, (int) byAge.get(k)[1], TOMB);
                    live--;
                    tombs++;
                    expired++;
                }
            }
        } finally {
            unlock();
        }
    }

    public int agingSeconds() {
        return agingSeconds;
    }

    /** Seconds since an arbitrary epoch, from a {@link System#nanoTime()} value. */
    public static int nowSeconds(long nanoTime) {
        return (int) ((nanoTime - EPOCH) / 1_000_000_000L);
    }

    private static int hash(long key) {
        return (int) ((key * 0x9E3779B97F4A7C15L) >>> 40);
    }

    private static long key(long mac, int vlan) {
        return PRESENT | (long) (vlan & 0xfff) << 48 | mac;
    }

    /** The port {@code mac} was learned on in VLAN 0, or -1. */
    public int lookup(long mac, int now) {
        return lookup(mac, 0, now);
    }

    /** The port {@code mac} was learned on in VLAN {@code vlan}, or -1. Lock-free, allocation-free. */
    public int lookup(long mac, int vlan, int now) {
        long key = key(mac, vlan);
        while (true) {
            Tab t = tab;
            int i = hash(key) & t.mask;
            int port = -1;
            boolean again = false;
            for (int n = 0; n <= t.mask; n++, i = (i + 1) & t.mask) {
                long v = (long) SLOTS.getAcquire(t.slots, i);
                if (v == EMPTY) {
                    break;
                }
                if (v == key) {
                    port = (int) PORTS.getAcquire(t.ports, i);
                    if ((long) SLOTS.getAcquire(t.slots, i) != key) {
                        again = true; // the slot went to another station meanwhile
                    } else if (now - (int) USED.getOpaque(t.used, i) > agingSeconds) {
                        port = -1;
                    }
                    break;
                }
            }
            if (!again) {
                return port;
            }
        }
    }

    /** Learns that {@code mac} (unicast) is behind {@code port} in VLAN 0. */
    public void learn(long mac, int port, int now) {
        learn(mac, 0, port, now);
    }

    /**
     * Learns that {@code mac} (unicast) is behind {@code port} in VLAN {@code vlan}. Allocation-free except
     * when the table is rebuilt.
     */
    public void learn(long mac, int vlan, int port, int now) {
        long key = key(mac, vlan);
        Tab t = tab;
        int i = find(t, key);
        if (i >= 0 && (int) USED.getOpaque(t.used, i) == STATIC) {
            return; // a static entry: learning neither refreshes nor moves it
        }
        if (i >= 0 && (int) PORTS.getAcquire(t.ports, i) == port && (long) SLOTS.getAcquire(t.slots, i) == key) {
            if ((int) USED.getOpaque(t.used, i) != now) {
                USED.setOpaque(t.used, i, now);
            }
            return;
        }
        lock();
        try {
            t = tab;
            i = find(t, key);
            if (i >= 0 && t.used[i] == STATIC) {
                return;
            }
            if (i >= 0) {
                if (t.ports[i] != port) {
                    moved++; // learned on another port before
                    PORTS.setRelease(t.ports, i, port);
                }
                USED.setOpaque(t.used, i, now);
                return;
            }
            if (live >= maxEntries) {
                if (expiredAt != now) { // a full scan at most once a second, not once per unknown source
                    expiredAt = now;
                    expire(t, now);
                }
                if (live >= maxEntries) {
                    return; // full of live entries: do not learn (traffic to it floods)
                }
            }
            insert(t, key, port, now, now);
            learned++;
        } finally {
            unlock();
        }
    }

    /**
     * Puts a station not in the table into the first free slot of its probe (the table grown first when it
     * is three quarters full): its port and age stored before the key is published. Lock held.
     */
    private void insert(Tab t, long key, int port, int used, int now) {
        if ((live + tombs + 1) * 4 > (t.mask + 1) * 3) {
            t = rebuild(t, t.mask + 1, now);
        }
        int j = hash(key) & t.mask;
        while (t.slots[j] != EMPTY && t.slots[j] != TOMB) {
            j = (j + 1) & t.mask;
        }
        if (t.slots[j] == TOMB) {
            tombs--;
        }
        PORTS.setRelease(t.ports, j, port);
        USED.setOpaque(t.used, j, used);
        SLOTS.setRelease(t.slots, j, key);
        live++;
    }

    /** What {@link #addStatic} did: whether it added the entry, and the entry it replaced (null: none). */
    public record Added(boolean added, Entry replaced) {
    }

    /**
     * fdb/add: {@code mac} in VLAN {@code vlan} is behind {@code port} for good (a learned entry of the same
     * station becomes static). Not added when the table is full of live entries (OVS would evict one).
     */
    public Added addStatic(long mac, int vlan, int port, int now) {
        long key = key(mac, vlan);
        lock();
        try {
            Tab t = tab;
            int i = find(t, key);
            if (i >= 0) {
                Entry was = new Entry(t.ports[i], mac, vlan, t.used[i] == STATIC ? STATIC : now - t.used[i]);
                if (t.used[i] != STATIC) {
                    statics++;
                }
                PORTS.setRelease(t.ports, i, port);
                USED.setOpaque(t.used, i, STATIC);
                return new Added(true, was);
            }
            if (live >= maxEntries) {
                expire(t, now);
                if (live >= maxEntries) {
                    return new Added(false, null);
                }
            }
            insert(t, key, port, STATIC, now);
            statics++;
            return new Added(true, null);
        } finally {
            unlock();
        }
    }

    /** fdb/del: removes the static entry of {@code mac} in {@code vlan}; false when there is none. */
    public boolean delStatic(long mac, int vlan) {
        lock();
        try {
            Tab t = tab;
            int i = find(t, key(mac, vlan));
            if (i < 0 || t.used[i] != STATIC) {
                return false;
            }
            SLOTS.setRelease(t.slots, i, TOMB);
            live--;
            tombs++;
            statics--;
            return true;
        } finally {
            unlock();
        }
    }

    private static int find(Tab t, long key) {
        int i = hash(key) & t.mask;
        for (int n = 0; n <= t.mask; n++, i = (i + 1) & t.mask) {
            long v = (long) SLOTS.getAcquire(t.slots, i);
            if (v == EMPTY) {
                return -1;
            }
            if (v == key) {
                return i;
            }
        }
        return -1;
    }

    /** Forgets every entry of {@code port} (the port was deleted). Control path. */
    public void flushPort(int port) {
        lock();
        try {
            Tab t = tab;
            for (int i = 0; i <= t.mask; i++) {
                long v = t.slots[i];
                if (v != EMPTY && v != TOMB && t.ports[i] == port) {
                    if (t.used[i] == STATIC) {
                        statics--;
                    }
                    SLOTS.setRelease(t.slots, i, TOMB);
                    live--;
                    tombs++;
                }
            }
        } finally {
            unlock();
        }
    }

    /** Forgets every entry but the static ones (fdb/flush, as OVS's mac_learning_flush). */
    public void flush() {
        lock();
        try {
            Tab old = tab;
            Tab t = new Tab(old.mask + 1);
            for (int i = 0; i <= old.mask; i++) {
                long v = old.slots[i];
                if (v != EMPTY && v != TOMB && old.used[i] == STATIC) {
                    int j = hash(v) & t.mask;
                    while (t.slots[j] != EMPTY) {
                        j = (j + 1) & t.mask;
                    }
                    t.slots[j] = v;
                    t.ports[j] = old.ports[i];
                    t.used[j] = STATIC;
                }
            }
            tab = t; // volatile publish
            live = statics;
            tombs = 0;
        } finally {
            unlock();
        }
    }

    /** Removes entries older than the ageing time. Control path. */
    public void age(int now) {
        lock();
        try {
            expire(tab, now);
        } finally {
            unlock();
        }
    }

    private void expire(Tab t, int now) {
        for (int i = 0; i <= t.mask; i++) {
            long v = t.slots[i];
            if (v != EMPTY && v != TOMB && now - t.used[i] > agingSeconds) {
                SLOTS.setRelease(t.slots, i, TOMB);
                live--;
                tombs++;
                expired++;
            }
        }
    }

    private Tab rebuild(Tab old, int capacity, int now) {
        Tab t = new Tab(capacity);
        int n = 0;
        for (int i = 0; i <= old.mask; i++) {
            long v = old.slots[i];
            if (v != EMPTY && v != TOMB && now - old.used[i] <= agingSeconds) {
                int j = hash(v) & t.mask;
                while (t.slots[j] != EMPTY) {
                    j = (j + 1) & t.mask;
                }
                t.slots[j] = v;
                t.ports[j] = old.ports[i];
                t.used[j] = old.used[i];
                n++;
            } else if (v != EMPTY && v != TOMB) {
                expired++; // aged out, dropped by the rebuild
            }
        }
        live = n;
        tombs = 0;
        tab = t; // volatile publish
        return t;
    }

    /** Live entries, for fdb/show. */
    public List<Entry> entries(int now) {
        List<Entry> out = new ArrayList<>();
        Tab t = tab;
        for (int i = 0; i <= t.mask; i++) {
            long v = (long) SLOTS.getAcquire(t.slots, i);
            int port = (int) PORTS.getAcquire(t.ports, i);
            int used = (int) USED.getOpaque(t.used, i);
            if (v != EMPTY && v != TOMB && now - used <= agingSeconds && (long) SLOTS.getAcquire(t.slots, i) == v) {
                out.add(new Entry(port, v & 0xffffffffffffL, (int) (v >>> 48) & 0xfff, used == STATIC ? STATIC
                        : now - used));
            }
        }
        return out;
    }

    public int maxEntries() {
        return maxEntries;
    }

    /**
     * fdb/stats-show's figures, as OVS's: the entries in the table (aged ones until they expire), the MACs
     * learned, expired and moved to another port since the table was made or {@link #clearStats}. pvio evicts
     * none: a table full of live entries learns nothing more.
     */
    public record Stats(int entries, int statics, long learned, long expired, long moved) {
    }

    public Stats stats() {
        lock();
        try {
            return new Stats(live, statics, learned, expired, moved);
        } finally {
            unlock();
        }
    }

    /** fdb/stats-clear: the totals back to 0. */
    public void clearStats() {
        lock();
        try {
            learned = 0;
            expired = 0;
            moved = 0;
        } finally {
            unlock();
        }
    }

    private void lock() {
        while (!LOCK.compareAndSet(this, 0, 1)) {
            Thread.onSpinWait();
        }
    }

    private void unlock() {
        LOCK.setRelease(this, 0);
    }
}
