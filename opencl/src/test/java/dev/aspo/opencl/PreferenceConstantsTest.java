package dev.aspo.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The preference kernels read every flag, field index and threshold from {@link PreferenceKernels}
 * through compiler options: no number is written twice (no device needed for this check; the
 * OpenCL suites build and run the program).
 */
class PreferenceConstantsTest {
    private static Map<String, String> options() {
        Map<String, String> defined = new LinkedHashMap<>();
        Matcher m = Pattern.compile("-D(\\w+)=(\\S+)").matcher(PreferenceKernels.buildOptions());
        while (m.find()) assertEquals(null, defined.put(m.group(1), m.group(2)), m.group(1) + " is defined twice");
        return defined;
    }

    @Test
    void everyConstantIsABuildOptionWithItsValue() {
        Map<String, String> defined = options();
        assertEquals(String.valueOf(PreferenceKernels.RECORD_FIELDS), defined.get("RECORD_FIELDS"));
        assertEquals(String.valueOf(PreferenceKernels.S_OMEGA), defined.get("S_OMEGA"));
        assertEquals(String.valueOf(PreferenceKernels.R_SCALE_R), defined.get("R_SCALE_R"));
        assertEquals(String.valueOf(PreferenceKernels.ORACLE), defined.get("ORACLE"));
        assertEquals(PreferenceKernels.DEGENERATE_RANGE, Double.parseDouble(defined.get("DEGENERATE_RANGE")), 0);
        assertEquals(PreferenceKernels.RATIO_EPSILON, Double.parseDouble(defined.get("RATIO_EPSILON")), 0);
    }

    @Test
    void theKernelSourceDefinesNoneOfThemAndUsesThem() throws IOException {
        String source;
        try (InputStream in = PreferenceKernels.class.getResourceAsStream("preference.cl")) {
            assertNotNull(in, "preference.cl on the class path");
            source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        for (String name : options().keySet()) {
            assertFalse(Pattern.compile("#define\\s+" + name + "\\b").matcher(source).find(), "preference.cl defines " + name + " itself");
        }
        for (String used : new String[] {"RECORD_FIELDS", "S_OMEGA", "R_LOSS", "REWARD_RATIO", "ORACLE", "DEGENERATE_RANGE", "RATIO_EPSILON"}) {
            assertTrue(Pattern.compile("\\b" + used + "\\b").matcher(source).find(), "preference.cl does not use " + used);
        }
    }
}
