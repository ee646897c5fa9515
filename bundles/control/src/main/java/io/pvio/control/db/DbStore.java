package io.pvio.control.db;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.logging.Logger;

/**
 * conf.db on disk: JSON, replaced atomically (written to conf.db.tmp, forced to disk, renamed over
 * conf.db), so a crash leaves either the old or the new database, never half of one.
 */
public final class DbStore {
    private static final Logger LOG = Logger.getLogger("bridge");
    private final Path file;

    public DbStore(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

    /**
     * Loads the database; an absent file is an empty database. A file that cannot be parsed is moved aside
     * to {@code conf.db.bad} (logged) and an empty database is returned, so the daemon still starts.
     */
    public Db load() {
        if (!Files.exists(file)) {
            LOG.info("no database at " + file + ", starting empty");
            return new Db();
        }
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            Db db = Db.fromJson(Json.parse(text));
            LOG.info("loaded " + file + ": " + db.bridges.size() + " bridge(s)");
            return db;
        } catch (IOException | IllegalArgumentException e) {
            Path bad = file.resolveSibling(file.getFileName() + ".bad");
            LOG.severe("cannot read " + file + " (" + e.getMessage() + "); moved it to " + bad
                    + " and starting with an empty database");
            try {
                Files.move(file, bad, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e2) {
                LOG.severe("cannot move " + file + " aside: " + e2.getMessage());
            }
            return new Db();
        }
    }

    /** Writes the database atomically. */
    public void save(Db db) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        byte[] bytes = Json.write(db.toJson()).getBytes(StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
