package io.pvio.features;

import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.io.IOException;
import java.util.Arrays;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

/** {@link KarafFeatureIT} on Karaf running Equinox 3.18 (shipped in Karaf's system/ directory). */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class KarafEquinoxFeatureIT extends KarafFeatureIT {
    @Override
    @Configuration
    public Option[] config() throws IOException {
        Option[] felix = super.config();
        Option[] o = Arrays.copyOf(felix, felix.length + 1);
        o[felix.length] = editConfigurationFilePut("etc/config.properties", "karaf.framework", "equinox");
        return o;
    }
}
