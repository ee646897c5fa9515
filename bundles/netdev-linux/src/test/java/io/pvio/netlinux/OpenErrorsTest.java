package io.pvio.netlinux;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;

import io.pvio.netdev.NetdevClass;
import io.pvio.netdev.NetdevException;
import io.pvio.netdev.SimpleNetdevContext;
import io.pvio.packet.PacketPool;
import java.nio.file.Path;
import java.util.Map;
import org.junit.Test;

/** What every user may get wrong, refused before anything is created (no root needed). */
public class OpenErrorsTest {
    private final PacketPool pool = new PacketPool("t", 64);
    private final SimpleNetdevContext ctx = new SimpleNetdevContext(pool, Path.of("/tmp"), () -> { });

    private void refused(NetdevClass c, String name, Map<String, String> opts, String message) {
        try {
            c.open(name, opts, ctx).close();
            fail(c.type() + " port " + name + " opened");
        } catch (NetdevException e) {
            assertEquals(message, e.getMessage());
        }
        assertEquals(0, pool.inUse());
    }

    @Test
    public void badNamesOptionsAndMissingInterfaces() {
        for (NetdevClass c : new NetdevClass[] {new SystemClass(), new InternalClass(), new TapClass()}) {
            refused(c, "a/b", Map.of(), c.type() + " port name 'a/b' is not a valid interface name"
                    + " (1 to 15 bytes, no '/', ':' or blank)");
            refused(c, "sixteen-bytes-xx", Map.of(), c.type() + " port name 'sixteen-bytes-xx' is not a valid"
                    + " interface name (1 to 15 bytes, no '/', ':' or blank)");
            refused(c, "ok0", Map.of("n_rxq", "2", "mtu", "9000"), "ok0: " + c.type()
                    + " ports take no options (got mtu, n_rxq)");
        }
        refused(new SystemClass(), "pvnoSuchDev9", Map.of(), "No such device");
    }
}
