package io.pvio.dma.ioat.component;

import io.pvio.dma.DmaDevice;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

/** Just enough of a framework to drive the components without OSGi. */
final class Fakes {
    private Fakes() {
    }

    /** A registered service in {@link Context}. */
    static final class Registration {
        final Object service;
        final Dictionary<String, ?> props;
        boolean unregistered;
        /** Whether the channel was still started when it was unregistered (it must be). */
        Boolean startedAtUnregister;

        Registration(Object service, Dictionary<String, ?> props) {
            this.service = service;
            this.props = props;
        }
    }

    /** Records registerService calls. */
    static final class Context {
        final List<Registration> registrations = new ArrayList<>();
        final Map<String, String> frameworkProps = new HashMap<>();

        List<Registration> live() {
            List<Registration> l = new ArrayList<>();
            for (Registration r : registrations) {
                if (!r.unregistered) {
                    l.add(r);
                }
            }
            return l;
        }

        BundleContext bundleContext() {
            return (BundleContext) Proxy.newProxyInstance(Fakes.class.getClassLoader(),
                    new Class<?>[] {BundleContext.class}, (p, m, args) -> {
                        switch (m.getName()) {
                            case "registerService":
                                Registration r = new Registration(args[1], (Dictionary<String, ?>) args[2]);
                                registrations.add(r);
                                return Proxy.newProxyInstance(Fakes.class.getClassLoader(),
                                        new Class<?>[] {ServiceRegistration.class}, (p2, m2, a2) -> {
                                            if (m2.getName().equals("unregister")) {
                                                if (r.unregistered) {
                                                    throw new IllegalStateException("twice");
                                                }
                                                r.startedAtUnregister = ((DmaDevice) r.service).isStarted();
                                                r.unregistered = true;
                                                return null;
                                            }
                                            throw new UnsupportedOperationException(m2.getName());
                                        });
                            case "getProperty":
                                return frameworkProps.get(args[0]);
                            default:
                                throw new UnsupportedOperationException(m.getName());
                        }
                    });
        }
    }

    /** An instance of a configuration annotation: values from {@code values}, else the defaults. */
    @SuppressWarnings("unchecked")
    static <A> A config(Class<A> type, Map<String, Object> values) {
        return (A) Proxy.newProxyInstance(Fakes.class.getClassLoader(), new Class<?>[] {type}, (p, m, args) -> {
            if (values.containsKey(m.getName())) {
                return values.get(m.getName());
            }
            if (m.getDefaultValue() != null) {
                return m.getDefaultValue();
            }
            throw new IllegalStateException("no value for " + m.getName());
        });
    }
}
