package dev.aspo.method.study;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The per-seed choice of the SeVa answers' temperature ({@code pair_temperature = -1}). */
class SevaPairsTest {

    @Test
    void choosesTheLowestTemperatureThatLeavesEnoughWrongSentencesAndTriesNoFurther() throws Exception {
        Map<Double, Double> error = Map.of(0.0, 0.02, 0.5, 0.08, 0.75, 0.15, 1.0, 0.30, 1.25, 0.5, 1.5, 0.7);
        List<Double> tried = new ArrayList<>();
        double t = SevaPairs.chooseTemperature(x -> {
            tried.add(x);
            return error.get(x);
        });
        assertEquals(0.75, t, "0.15 wrong is enough (the bound is inclusive)");
        assertEquals(List.of(0.0, 0.5, 0.75), tried, "the last temperature tried is the chosen one");
    }

    @Test
    void greedyAnswersStayWhenTheModelAlreadyErrsEnough() throws Exception {
        List<Double> tried = new ArrayList<>();
        assertEquals(0.0, SevaPairs.chooseTemperature(x -> {
            tried.add(x);
            return 0.4;
        }));
        assertEquals(List.of(0.0), tried);
    }

    @Test
    void aModelThatIsNeverWrongEnoughGetsTheHighestTemperatureLastTried() throws Exception {
        List<Double> tried = new ArrayList<>();
        double t = SevaPairs.chooseTemperature(x -> {
            tried.add(x);
            return 0.01;
        });
        assertEquals(SevaPairs.TEMPERATURES[SevaPairs.TEMPERATURES.length - 1], t);
        assertEquals(SevaPairs.TEMPERATURES.length, tried.size());
        assertEquals(t, tried.get(tried.size() - 1), "its validation pairs are the last written");
    }
}
