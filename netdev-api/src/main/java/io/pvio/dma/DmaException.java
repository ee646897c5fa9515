package io.pvio.dma;

/** A DMA channel refused a control operation; the message is meant for the user. */
public class DmaException extends Exception {
    private static final long serialVersionUID = 1L;

    public DmaException(String message) {
        super(message);
    }
}
