// The Sluice objects `sluice import` writes, as plain manifests (what `kubectl apply -f -` reads).

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

/** metav1.LabelSelector. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface ManifestMetadata {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ServiceAllocation {
  priority?: number;
  namespaces?: string[];
  namespaceSelectors?: LabelSelector[];
  serviceSelectors?: LabelSelector[];
}

export interface AddressPoolManifest {
  apiVersion: 'sluice.dev/v1alpha1';
  kind: 'AddressPool';
  metadata: ManifestMetadata;
  spec: {
    addresses: string[];
    autoAssign?: boolean;
    avoidBuggyIPs?: boolean;
    serviceAllocation?: ServiceAllocation;
  };
}

export interface L2AdvertisementManifest {
  apiVersion: 'sluice.dev/v1alpha1';
  kind: 'L2Advertisement';
  metadata: ManifestMetadata;
  spec: {
    addressPools?: string[];
    addressPoolSelectors?: LabelSelector[];
    nodeSelectors?: LabelSelector[];
    interfaces?: string[];
  };
}

export type SluiceManifest = AddressPoolManifest | L2AdvertisementManifest;

/** Annotation on every imported object naming what it was made from, for the migration's paper trail. */
export const IMPORTED_FROM_ANNOTATION = 'sluice.dev/imported-from';
