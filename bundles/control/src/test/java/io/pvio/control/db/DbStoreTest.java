package io.pvio.control.db;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class DbStoreTest {
    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void roundTripKeepsEveryColumn() throws Exception {
        Db db = new Db();
        db.otherConfig.put("pmd-cpu-mask", "0x3");
        Db.Bridge b = new Db.Bridge("br0");
        b.otherConfig.put("k", "v \"quoted\" \\ back\nslash");
        b.flows.add("priority=10,in_port=1,actions=output:2");
        Db.Port p = new Db.Port("p1");
        p.type = "pktgen";
        p.options.put("vhost-async-attr", "(txq0,00:04.0,256),(txq1,00:04.1,256)");
        p.ofportRequest = 7;
        p.otherConfig.put("a", "b");
        p.ifaceOtherConfig.put("c", "d");
        b.ports.put("p1", p);
        db.bridges.put("br0", b);
        Path f = tmp.getRoot().toPath().resolve("run/conf.db");
        DbStore store = new DbStore(f);
        store.save(db);
        assertFalse(Files.exists(f.resolveSibling("conf.db.tmp")));
        Db back = store.load();
        assertEquals(Json.write(db.toJson()), Json.write(back.toJson()));
        assertEquals(db.uuid, back.uuid);
        Db.Port q = back.port("p1");
        assertEquals("(txq0,00:04.0,256),(txq1,00:04.1,256)", q.options.get("vhost-async-attr"));
        assertEquals(7, q.ofportRequest);
        assertEquals(List.of("priority=0,actions=normal", "priority=10,in_port=1,actions=output:2"),
                back.bridges.get("br0").flows);
        assertEquals(p.uuid, q.uuid);
    }

    @Test
    public void missingFileIsAnEmptyDatabase() {
        Db db = new DbStore(tmp.getRoot().toPath().resolve("none/conf.db")).load();
        assertTrue(db.bridges.isEmpty());
    }

    @Test
    public void corruptFileIsMovedAsideNotFatal() throws Exception {
        Path f = tmp.getRoot().toPath().resolve("conf.db");
        Files.writeString(f, "{\"format\": \"pvio-conf-1\", \"bridges\": [ {\"name\": ");
        Db db = new DbStore(f).load();
        assertTrue(db.bridges.isEmpty());
        assertTrue(Files.exists(f.resolveSibling("conf.db.bad")));
        assertFalse(Files.exists(f));
    }

    @Test
    public void jsonRejectsGarbageWithAnOffset() {
        for (String bad : new String[] {"", "{", "[1,", "{\"a\" 1}", "\"\\x\"", "tru", "{} x", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}) {
            try {
                Json.parse(bad);
                throw new AssertionError("accepted " + bad);
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().startsWith("JSON: "));
            }
        }
    }
}
