package io.pvio.netdev;

/**
 * Resolves and initializes, through a data-path bundle's class loader, the classes its forwarding loop
 * calls, before the loop first runs. HotSpot's C1 compiles a call as unresolved, and does not profile it,
 * when the caller's class loader has not resolved the callee's class yet (a class of another bundle that no
 * code of the caller's bundle has touched) or when a static method's class is not initialized. A PMD
 * compiles its loops while its ports have no packets, so the calls in the per-packet part would stay
 * unprofiled, and C2 then never inlines them ("call site not reached" or "not loaded" in
 * {@code -XX:+PrintInlining}). Call {@link #resolve} from a static initializer of the class with the loop.
 */
public final class DataPathClasses {
    private DataPathClasses() {
    }

    /**
     * Resolves every class of {@code used} through {@code caller}'s class loader (which then knows it as an
     * initiating loader) and initializes it.
     *
     * @throws IllegalStateException when {@code caller}'s loader does not see one of them
     */
    public static void resolve(Class<?> caller, Class<?>... used) {
        ClassLoader loader = caller.getClassLoader();
        for (Class<?> c : used) {
            try {
                if (Class.forName(c.getName(), true, loader) != c) {
                    throw new IllegalStateException(caller + " sees another " + c);
                }
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(caller + " does not see " + c, e);
            }
        }
    }
}
