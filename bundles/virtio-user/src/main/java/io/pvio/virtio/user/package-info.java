/**
 * A virtio-net driver over vhost-user: the front end ("guest side") of a vhost-user device, in the role
 * of DPDK's virtio-user PMD. {@link io.pvio.virtio.user.VirtioUserDevice} connects to (or accepts) a
 * vhost-user back end, shares one memfd of guest memory with it, and moves frames through split
 * virtqueues. It also offers raw access (arbitrary descriptors and vhost-user messages) for robustness
 * tests of back ends.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package io.pvio.virtio.user;
