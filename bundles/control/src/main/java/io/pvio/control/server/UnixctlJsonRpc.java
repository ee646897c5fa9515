package io.pvio.control.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pvio.control.protocol.ControlProtocol;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.logging.Logger;

/**
 * OVS's unixctl protocol (lib/unixctl.c over lib/jsonrpc.c), as the real {@code ovs-appctl} speaks it: JSON
 * objects back to back on the stream, requests {@code {"id":ID,"method":CMD,"params":["ARG",...]}}, replies
 * {@code {"id":ID,"result":"TEXT","error":null}} or {@code {"id":ID,"result":null,"error":"TEXT"}} (ovs-appctl
 * prints the error on stderr and exits 2). Any number of requests per connection, one at a time.
 *
 * <p>A request is run as {@code appctl -- CMD ARG...}. As OVS does, a message that is not JSON, or JSON that
 * is not a request (a reply, a notification), closes the connection with a log line; a request whose params
 * are not all strings gets an error reply. Every connection may send at most {@link ControlProtocol#MAX_REQUEST}
 * bytes in all.
 */
final class UnixctlJsonRpc {
    private static final Logger LOG = Logger.getLogger("unixctl");
    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxDocumentLength(ControlProtocol.MAX_REQUEST)
                    .maxNestingDepth(64).build()).build())
            .disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final Set<String> MEMBERS = Set.of("id", "method", "params", "result", "error");

    /** Waits for a request; the server's watchdog closes the connection when it takes too long. */
    interface Watchdog {
        void arm();

        void disarm();
    }

    private UnixctlJsonRpc() {
    }

    /** True when {@code b}, a connection's first byte, starts a JSON text (an object, maybe after blanks). */
    static boolean startsJson(int b) {
        return b == '{' || b == ' ' || b == '\t' || b == '\n' || b == '\r';
    }

    /** Serves requests until the client closes, a message is malformed, or a command asks to run work after. */
    static void serve(InputStream in, OutputStream out, ControlServer.Handler handler, Watchdog watchdog,
            Runnable[] after) throws IOException {
        JsonParser p = MAPPER.getFactory().createParser(in);
        p.disable(JsonParser.Feature.AUTO_CLOSE_SOURCE);
        while (true) {
            watchdog.arm();
            JsonNode msg;
            try {
                JsonToken t = p.nextToken();
                if (t == null) {
                    return; // the client closed
                }
                msg = MAPPER.readTree(p);
            } catch (JsonProcessingException e) {
                LOG.warning("unixctl connection: " + e.getOriginalMessage() + "; closing it");
                return;
            } finally {
                watchdog.disarm();
            }
            String problem = invalid(msg);
            if (problem != null) {
                LOG.warning("unixctl connection: " + problem + "; closing it");
                return;
            }
            String method = msg.get("method").asText();
            JsonNode params = msg.get("params");
            List<String> argv = new ArrayList<>(params.size() + 3);
            argv.add("appctl");
            argv.add("--");
            argv.add(method);
            String error = null;
            for (JsonNode a : params) {
                if (!a.isTextual()) {
                    error = "\"" + method + "\" command has non-string argument";
                    break;
                }
                argv.add(a.asText());
            }
            LOG.fine("received request " + method + params + ", id=" + msg.get("id"));
            ObjectNode reply = JsonNodeFactory.instance.objectNode();
            reply.set("id", msg.get("id"));
            if (error == null) {
                ControlProtocol.Reply r;
                try {
                    r = handler.handle(argv, run -> after[0] = run);
                } catch (RuntimeException e) {
                    LOG.log(java.util.logging.Level.SEVERE, "command " + argv + " failed", e);
                    r = new ControlProtocol.Reply(2, "", "internal error: " + e + "\n");
                }
                if (r.status() == 0) {
                    reply.put("result", withNewline(r.out()));
                    reply.putNull("error");
                } else {
                    error = r.err().isEmpty() ? r.out() : r.err();
                }
            }
            if (error != null) {
                reply.putNull("result");
                reply.put("error", withNewline(error));
            }
            out.write(MAPPER.writeValueAsBytes(reply));
            out.flush();
            if (after[0] != null) {
                return; // e.g. exit: the work runs once this connection is closed
            }
        }
    }

    /** Why {@code msg} is not a unixctl request (as lib/jsonrpc.c checks it), or null. */
    private static String invalid(JsonNode msg) {
        if (!msg.isObject()) {
            return "message is not a JSON object";
        }
        for (Iterator<String> it = msg.fieldNames(); it.hasNext();) {
            String f = it.next();
            if (!MEMBERS.contains(f)) {
                return "message has unexpected member \"" + f + "\"";
            }
        }
        JsonNode id = msg.get("id");
        JsonNode method = msg.get("method");
        if (method == null || method.isNull()) {
            return "received unexpected reply message";
        }
        if (!method.isTextual()) {
            return "method is not a JSON string";
        }
        if (id == null || id.isNull()) {
            return "received unexpected notification \"" + method.asText() + "\"";
        }
        JsonNode params = msg.get("params");
        if (params == null || !params.isArray()) {
            return "\"params\" must be an array";
        }
        if (msg.hasNonNull("result") || msg.hasNonNull("error")) {
            return "request has \"result\" or \"error\"";
        }
        return null;
    }

    /** As unixctl_command_reply: a non-empty text ends with a newline. */
    private static String withNewline(String s) {
        return s.isEmpty() || s.endsWith("\n") ? s : s + "\n";
    }
}
