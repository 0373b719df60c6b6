package io.guardedtuning.audit.rest;

import io.guardedtuning.audit.service.LeakagePoint;
import io.guardedtuning.audit.service.LeakageSeries;
import io.guardedtuning.metrics.TextLeakage;
import io.guardedtuning.session.AuditProtocol;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LeakageChartTest {

    static LeakagePoint point(long step, double rouge) {
        return LeakagePoint.unscored(step, 0.5, 1, "", "r", 0).scored(new AuditProtocol.AttackScores("sip",
                new TextLeakage.Scores(rouge, 0, 0, 1), new TextLeakage.Scores(0.1, 0, 0, 1)), null);
    }

    static Document parse(String svg) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void drawsOneLineAndOneDotPerScoredPointPerAttack() throws Exception {
        List<LeakageSeries> series = List.of(
                new LeakageSeries("s", "train", "sip", List.of(point(0, 0.0), point(10, 1.0), point(20, 0.5)), true),
                new LeakageSeries("s", "train", "tag", List.of(point(10, 0.25),
                        LeakagePoint.unscored(20, 0.9, 1, "", "r", 0)), false));
        Document svg = parse(LeakageChart.svg(series, 0.5));
        assertEquals("svg", svg.getDocumentElement().getTagName());
        NodeList groups = svg.getElementsByTagName("g");
        assertEquals(2, groups.getLength());
        Element sip = (Element) groups.item(0);
        assertEquals("sip", sip.getAttribute("data-attack"));
        assertEquals(3, sip.getElementsByTagName("circle").getLength());
        assertEquals(1, ((Element) groups.item(1)).getElementsByTagName("circle").getLength(),
                "unscored points are not drawn");

        // x runs over steps 0..20 and y over ROUGE-L 0..1 inside the plot area.
        String[] xy = ((Element) sip.getElementsByTagName("polyline").item(0)).getAttribute("points").split(" ");
        assertEquals(3, xy.length);
        double x0 = Double.parseDouble(xy[0].split(",")[0]);
        double x1 = Double.parseDouble(xy[1].split(",")[0]);
        double x2 = Double.parseDouble(xy[2].split(",")[0]);
        assertEquals(x1 - x0, x2 - x1, 0.2, "steps 0, 10, 20 are evenly spaced");
        double y0 = Double.parseDouble(xy[0].split(",")[1]);
        double y1 = Double.parseDouble(xy[1].split(",")[1]);
        double y2 = Double.parseDouble(xy[2].split(",")[1]);
        assertTrue(y1 < y2 && y2 < y0, "higher leakage is drawn higher");
        assertEquals((y0 + y1) / 2, y2, 0.2);
        Element threshold = (Element) svg.getElementsByTagName("line").item(svg.getElementsByTagName("line")
                .getLength() - 1);
        assertEquals("threshold", threshold.getAttribute("class"));
        assertEquals(y2, Double.parseDouble(threshold.getAttribute("y1")), 0.2);
        assertTrue(svg.getDocumentElement().getTextContent().contains("sip step 10: ROUGE-L F1 1.000"));
    }

    @Test
    void saysSoWhenNothingIsScoredAndEscapesNames() throws Exception {
        String svg = LeakageChart.svg(List.of(new LeakageSeries("s", "train", "<x&y>",
                List.of(LeakagePoint.unscored(0, 0.1, 1, "", "r", 0)), false)), 0.5);
        Document doc = parse(svg);
        assertTrue(doc.getDocumentElement().getTextContent().contains("no scored steps yet"));
        assertEquals(0, doc.getElementsByTagName("polyline").getLength());
    }
}
