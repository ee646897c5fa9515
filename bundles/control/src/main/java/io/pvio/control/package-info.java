/** The daemon's command entry point: vsctl, ofctl and appctl as a service (used by the shell and tests). */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package io.pvio.control;
