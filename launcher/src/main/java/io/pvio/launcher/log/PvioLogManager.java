package io.pvio.launcher.log;

import java.util.logging.LogManager;

/**
 * The JUL LogManager of pvio.jar: the JDK's own shutdown hook resets logging (closing every handler) while
 * pvio's shutdown hook is still stopping the framework, which would lose the shutdown's log lines. This
 * manager ignores that reset; {@link LogSetup#uninstall()} closes the handler at the end instead.
 * Selected with {@code java.util.logging.manager} before the first logger is made (see Main).
 */
public final class PvioLogManager extends LogManager {
    @Override
    public void reset() {
        if (Thread.currentThread().getClass().getName().startsWith(LogManager.class.getName() + "$Cleaner")) {
            return;
        }
        super.reset();
    }
}
