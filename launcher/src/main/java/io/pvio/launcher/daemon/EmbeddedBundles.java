package io.pvio.launcher.daemon;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * The bundle jars built into pvio.jar under {@code bundles/} (the launcher's pom copies them there: the
 * bundle list is that pom's dependency list). Works from the jar and from target/classes.
 */
public final class EmbeddedBundles {
    /** Installed but not started: alternatives to a default (swap with appctl bundle/stop + bundle/start). */
    public static final Set<String> NOT_STARTED = Set.of("io.pvio.dma-cpu");

    /** One embedded bundle: its name (file name) and how to read it. */
    public record Entry(String name, Supplier<InputStream> open) {
    }

    private EmbeddedBundles() {
    }

    /** The embedded bundles, sorted by file name. */
    public static List<Entry> list() throws IOException {
        Path src;
        try {
            src = Path.of(EmbeddedBundles.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IOException("cannot locate pvio.jar: " + e.getMessage(), e);
        }
        List<Entry> out = new ArrayList<>();
        if (Files.isDirectory(src)) {
            Path dir = src.resolve("bundles");
            if (Files.isDirectory(dir)) {
                try (Stream<Path> s = Files.list(dir)) {
                    s.filter(p -> p.toString().endsWith(".jar")).sorted().forEach(p -> out.add(new Entry(
                            p.getFileName().toString(), () -> open(p))));
                }
            }
        } else {
            try (JarFile jar = new JarFile(src.toFile())) {
                Enumeration<JarEntry> en = jar.entries();
                while (en.hasMoreElements()) {
                    JarEntry e = en.nextElement();
                    String n = e.getName();
                    if (n.startsWith("bundles/") && n.endsWith(".jar") && n.indexOf('/', 8) < 0) {
                        String res = "/" + n;
                        out.add(new Entry(n.substring(8), () -> EmbeddedBundles.class.getResourceAsStream(res)));
                    }
                }
            }
            out.sort((a, b) -> a.name().compareTo(b.name()));
        }
        if (out.isEmpty()) {
            throw new IOException("no bundles embedded in " + src + " (was it built with mvn package?)");
        }
        return out;
    }

    private static InputStream open(Path p) {
        try {
            return Files.newInputStream(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
