package io.pvio.launcher.log;

import java.util.logging.Level;
import java.util.logging.Logger;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;

/** Felix's own log messages (framework property {@code felix.log.logger}) as module "felix". */
public final class FelixLogBridge extends org.apache.felix.framework.Logger {
    private static final Logger LOG = Logger.getLogger("felix");

    @Override
    protected void doLog(Bundle bundle, @SuppressWarnings("rawtypes") ServiceReference sr, int level, String msg,
            Throwable t) {
        Level l = switch (level) {
            case LOG_ERROR -> Level.SEVERE;
            case LOG_WARNING -> Level.WARNING;
            case LOG_INFO -> Level.INFO;
            default -> Level.FINE;
        };
        String m = bundle != null ? "[" + bundle.getSymbolicName() + "] " + msg : msg;
        LOG.log(l, m, t);
    }
}
