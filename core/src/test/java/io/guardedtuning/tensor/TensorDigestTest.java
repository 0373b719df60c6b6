package io.guardedtuning.tensor;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class TensorDigestTest {

    private static Map<String, HostTensor> tensors(float last) {
        Map<String, HostTensor> m = new LinkedHashMap<>();
        m.put("b", new HostTensor(new long[] {2}, new float[] {0.5f, last}));
        m.put("a", new HostTensor(new long[] {1, 2}, new float[] {1f, -2f}));
        return m;
    }

    @Test
    void sameTensorsInAnyOrderHaveTheSameDigest() {
        Map<String, HostTensor> reversed = new LinkedHashMap<>();
        reversed.put("a", tensors(3f).get("a"));
        reversed.put("b", tensors(3f).get("b"));
        assertEquals(TensorDigest.sha256(tensors(3f)), TensorDigest.sha256(reversed));
        assertEquals(64, TensorDigest.sha256(tensors(3f)).length());
    }

    @Test
    void oneBitNameOrShapeChangesTheDigest() {
        String base = TensorDigest.sha256(tensors(3f));
        assertNotEquals(base, TensorDigest.sha256(tensors(Math.nextUp(3f))), "last bit of one value");
        assertNotEquals(TensorDigest.sha256(tensors(0f)), TensorDigest.sha256(tensors(-0f)), "sign of zero");
        Map<String, HostTensor> renamed = new LinkedHashMap<>(tensors(3f));
        renamed.put("c", renamed.remove("b"));
        assertNotEquals(base, TensorDigest.sha256(renamed), "a name");
        Map<String, HostTensor> reshaped = new LinkedHashMap<>(tensors(3f));
        reshaped.put("a", new HostTensor(new long[] {2, 1}, new float[] {1f, -2f}));
        assertNotEquals(base, TensorDigest.sha256(reshaped), "a shape");
    }
}
