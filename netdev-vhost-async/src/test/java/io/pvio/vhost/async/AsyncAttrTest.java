package io.pvio.vhost.async;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.Test;

public class AsyncAttrTest {
    @Test
    public void parsesOvsSyntax() {
        AsyncAttr a = AsyncAttr.parse("(txq0,00:04.0,256),(txq1,0000:00:04.1,1024), (rxq0, 00:04.2, 0)");
        assertEquals(3, a.entries().size());
        assertEquals(new AsyncAttr.Entry(true, 1, "0000:00:04.1", 1024), a.find(true, 1));
        assertEquals("0000:00:04.2", a.find(false, 0).address());
        assertEquals(null, a.find(false, 1));
        assertEquals("(txq0,0000:00:04.0,256),(txq1,0000:00:04.1,1024),(rxq0,0000:00:04.2,0)", a.toString());
    }

    @Test
    public void emptyMeansNone() {
        assertTrue(AsyncAttr.parse("").entries().isEmpty());
        assertTrue(AsyncAttr.parse(null).entries().isEmpty());
    }

    private static void bad(String v, String expected) {
        try {
            AsyncAttr.parse(v);
            fail("accepted " + v);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(expected));
        }
    }

    @Test
    public void refusesMalformedValuesWithAClearMessage() {
        bad("(txq0,00:04.0)", "expected '(txqN|rxqN,PCI-ADDRESS,THRESHOLD)'");
        bad("(tq0,00:04.0,256)", "unknown queue 'tq0'");
        bad("(txq0,00:04.9,256)", "not a PCI address");
        bad("(txq0,00:04.0,abc)", "not a number");
        bad("(txq0,00:04.0,-1)", "outside");
        bad("(txq0,00:04.0,256),(txq0,00:04.1,256)", "txq0 is given twice");
        bad("(txq0,00:04.0,256)junk", "at 'junk'");
        bad("(txq200,00:04.0,256)", "above 127");
    }
}
