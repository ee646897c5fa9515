package io.pvio.dpif.netdev.appctl;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class PmdPerfShowCommandTest {
    /** -it and -ms lengths as OVS reads them: strtol, then bounded to 0..HISTORY_LEN. */
    @Test
    public void historyLengthsAreReadAsOvsReadsThem() {
        assertEquals(12, PmdPerfShowCommand.historyLength("12"));
        assertEquals(12, PmdPerfShowCommand.historyLength("12x"));
        assertEquals(0, PmdPerfShowCommand.historyLength("x"));
        assertEquals(0, PmdPerfShowCommand.historyLength("-5"));
        assertEquals(1000, PmdPerfShowCommand.historyLength("5000"));
        assertEquals(1000, PmdPerfShowCommand.historyLength("99999999999999999999"));
    }
}
